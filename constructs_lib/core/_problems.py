"""How the job constructs report what is wrong with a request: each problem names the
member, its prop, the value and the rule, and the library's own rule for a member
replaces the API's looser one; and the library's tag limit."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from constructs import Construct

from .._shared.schema.validate import Problem
from ..handler import properties as cr_props

#: 50 tags per job; the handler adds its own (LIBRARY_TAGS) to recognise its jobs.
MAX_TAGS = 50 - len(cr_props.LIBRARY_TAGS)


def tag_problems(request: Mapping[str, Any]) -> list[Problem]:
    """The library's tag limit (SageMaker's 50 less its own)."""
    tags = request.get("Tags")
    if isinstance(tags, list) and len(tags) > MAX_TAGS:
        return [
            Problem(
                "Tags",
                len(tags),
                f"must have at most {MAX_TAGS} tags (SageMaker allows 50; the library "
                f"adds {len(cr_props.LIBRARY_TAGS)} to recognise its jobs)",
            )
        ]
    return []


def describe_problem(problem: Problem, props_for_path: Callable[[str], str]) -> str:
    where = f"{problem.path} ({props_for_path(problem.path)})"
    shown = "(missing)" if problem.value is None else repr(problem.value)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    return f"{where}: {shown} is invalid: {problem.rule}"


def superseding(api: Sequence[Problem], ours: Sequence[Problem]) -> list[Problem]:
    """The API's problems and the library's, where a rule of the library for a member
    (e.g. at least 1 instance, at most 46 tags) replaces the API's looser one for the
    same member: one mistake, one message."""
    mine = {problem.path for problem in ours}
    return [problem for problem in api if problem.path not in mine] + list(ours)


def raise_problems(
    scope: Construct, problems: Sequence[Problem], props_for_path: Callable[[str], str]
) -> None:
    """Fail synthesis naming the construct, each member with its prop, the value
    and the rule."""
    if not problems:
        return
    details = "\n".join(f"  - {describe_problem(p, props_for_path)}" for p in problems)
    first = describe_problem(problems[0], props_for_path)
    more = f" ({len(problems)} problems)\n{details}" if len(problems) > 1 else ""
    raise ValueError(f"[{scope.node.path}] {first}{more}")


def prop_of(path: str, props: Mapping[str, str]) -> str:
    """The prop that sets the request member at ``path``: the entry of ``props``
    (``{member path: prop}``) of the longest path that holds it, or
    ``additional_request``."""
    for prefix in sorted(props, key=len, reverse=True):
        if path == prefix or path.startswith((f"{prefix}.", f"{prefix}[")):
            return props[prefix]
    return "additional_request"
