"""Generate the request schemas (``create_training_job.json``,
``create_hyper_parameter_tuning_job.json``) and the SageMaker model the handler ships
(``handler/models/sagemaker/<api version>/service-2.json.gz``) from botocore's
SageMaker model, so that the deploy speaks the API the synth validated.

Run ``python -m constructs_lib._shared.schema.generate`` (needs botocore, a dev dependency)
after upgrading boto3/botocore, and commit the result.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
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


def handler_model() -> dict[str, Any]:
    """SageMaker's service model as botocore has it, cut to the operations the handler
    calls (``handler.kinds.SAGEMAKER_OPERATIONS``) and the shapes they reach, without
    documentation: what the handler ships (``handler/models``)."""
    import botocore.session  # noqa: PLC0415 - a dev dependency

    from ...handler.kinds import SAGEMAKER_OPERATIONS  # noqa: PLC0415

    loader = botocore.session.get_session().get_component("data_loader")
    full: dict[str, Any] = loader.load_service_model("sagemaker", "service-2")
    operations = {name: full["operations"][name] for name in SAGEMAKER_OPERATIONS}
    shapes: dict[str, Any] = {}
    pending = [
        ref["shape"]
        for operation in operations.values()
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", []))
        if ref
    ]
    while pending:
        name = pending.pop()
        if name in shapes:
            continue
        shape = shapes[name] = full["shapes"][name]
        refs = [*shape.get("members", {}).values()]
        refs += [shape[key] for key in ("member", "key", "value") if key in shape]
        pending.extend(ref["shape"] for ref in refs)
    model = {
        "version": full["version"],
        "metadata": full["metadata"],
        "operations": operations,
        "shapes": dict(sorted(shapes.items())),
    }
    trimmed: dict[str, Any] = _without_documentation(model)
    return trimmed


def _without_documentation(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_documentation(item)
            for key, item in value.items()
            if key not in ("documentation", "documentationUrl")
        }
    if isinstance(value, list):
        return [_without_documentation(item) for item in value]
    return value


def handler_model_file() -> Path:
    """Where the handler's SageMaker model goes (botocore's data-path layout)."""
    from ...handler.models import DATA_PATH  # noqa: PLC0415

    version = str(handler_model()["metadata"]["apiVersion"])
    return DATA_PATH / "sagemaker" / version / "service-2.json.gz"


def render_handler_model() -> bytes:
    """The shipped file's bytes: gzipped (deterministically: no name, mtime 0)."""
    text = json.dumps(handler_model(), sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def render(operation: str = OPERATION) -> str:
    return json.dumps(build(operation), indent=1, sort_keys=True) + "\n"


def main() -> None:
    from . import SCHEMA_FILES  # noqa: PLC0415

    for operation, path in SCHEMA_FILES.items():
        path.write_text(render(operation))
        print(f"wrote {path}", file=sys.stderr)
    target = handler_model_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(render_handler_model())
    print(f"wrote {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
