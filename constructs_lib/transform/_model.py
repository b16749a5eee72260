"""The model a transform job runs (``model=``): a ``CfnModel``, an
``aws_sagemaker_alpha`` ``IModel`` or a model's name; its name for the request (a
reference, so the transform waits for the model, and through it for its training),
the role SageMaker runs the transform as (the model's), and its region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


@dataclass(frozen=True)
class BoundModel:
    """The model as a transform job uses it."""

    name: str
    #: The model's execution role (None: not known here; its grants are yours).
    role: iam.IGrantable | None
    #: The model's region where known at synth (None: a name, or a token).
    region: str | None


def bind_model(scope: Construct, model: Any, model_role: iam.IRole | None) -> BoundModel:
    """``model`` (see the module) with ``model_role`` (the role of a ``CfnModel`` or a
    name, which carry only its ARN)."""
    if isinstance(model, sagemaker.CfnModel):
        return BoundModel(model.attr_model_name, model_role, _region(Stack.of(model).region))
    if isinstance(model, str):
        if not model:
            raise ValueError(f"[{scope.node.path}] model: '' is invalid: name a model")
        return BoundModel(model, model_role, None)
    name = getattr(model, "model_name", None)
    if isinstance(name, str) and hasattr(model, "grant_principal"):
        env = getattr(model, "env", None)
        region = _region(getattr(env, "region", None)) if env is not None else None
        role = model_role or model
        return BoundModel(name, role, region)
    raise TypeError(
        f"[{scope.node.path}] model: {model!r} is invalid: a transform runs a CfnModel, an "
        "aws_sagemaker_alpha IModel, or a model's name"
    )


def _region(region: Any) -> str | None:
    return region if isinstance(region, str) and not Token.is_unresolved(region) else None
