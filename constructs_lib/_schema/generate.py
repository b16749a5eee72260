"""Generate the request schemas (``create_training_job.json``,
``create_hyper_parameter_tuning_job.json``) from botocore's SageMaker model.

Run ``python -m constructs_lib._schema.generate`` (needs botocore, a dev dependency)
after upgrading boto3/botocore, and commit the result.
"""

from __future__ import annotations

import json
import sys
from typing import Any

OPERATION = "CreateTrainingJob"
_CONSTRAINTS = ("min", "max", "pattern", "enum")


def build(operation: str = OPERATION) -> dict[str, Any]:
    """The distilled request shape: every shape reachable from the operation's input,
    with its type, members, required members and the constraints the model states."""
    import botocore.session  # noqa: PLC0415 - a dev dependency, not needed at synth
    from botocore.model import ListShape, MapShape, Shape, StructureShape  # noqa: PLC0415

    model = botocore.session.get_session().get_service_model("sagemaker")
    root = model.operation_model(operation).input_shape
    assert root is not None
    shapes: dict[str, Any] = {}
    pending: list[Shape] = [root]
    while pending:
        shape = pending.pop()
        if shape.name in shapes:
            continue
        entry: dict[str, Any] = {"type": shape.type_name}
        entry.update({k: shape.metadata[k] for k in _CONSTRAINTS if k in shape.metadata})
        if isinstance(shape, StructureShape):
            entry["members"] = {name: member.name for name, member in shape.members.items()}
            entry["required"] = list(shape.required_members)
            pending.extend(shape.members.values())
        elif isinstance(shape, ListShape):
            entry["member"] = shape.member.name
            pending.append(shape.member)
        elif isinstance(shape, MapShape):
            entry["key"] = shape.key.name
            entry["value"] = shape.value.name
            pending.extend([shape.key, shape.value])
        shapes[shape.name] = entry
    return {"operation": operation, "root": root.name, "shapes": dict(sorted(shapes.items()))}


def render(operation: str = OPERATION) -> str:
    return json.dumps(build(operation), indent=1, sort_keys=True) + "\n"


def main() -> None:
    from . import SCHEMA_FILES  # noqa: PLC0415

    for operation, path in SCHEMA_FILES.items():
        path.write_text(render(operation))
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
