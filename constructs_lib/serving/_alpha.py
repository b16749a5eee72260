"""What a job trained, for the L2s of ``aws-cdk.aws-sagemaker-alpha`` (``Model``,
``Endpoint``): its artifacts as a ``ModelData``, its serving image as a
``ContainerImage``, and a framework job's whole serving ``ContainerDefinition``.
Each grants the model's role what serving needs when the model binds it, so a user
never splits an image URI or writes a grant by hand. The alpha package is optional:
imported when one of these is asked for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct


def _alpha(scope: Construct, what: str) -> Any:
    try:
        from aws_cdk import aws_sagemaker_alpha as alpha  # noqa: PLC0415
    except ImportError:
        raise ImportError(
            f"[{scope.node.path}] {what} needs the package aws-cdk.aws-sagemaker-alpha "
            "of your aws-cdk-lib's version (the library's [alpha] extra): pip install "
            "'aws-cdk.aws-sagemaker-alpha==<aws-cdk-lib version>a0'"
        ) from None
    return alpha


def model_data(scope: Construct, uri: str, grant: Callable[[iam.IGrantable], None]) -> Any:
    """An ``aws_cdk.aws_sagemaker_alpha.ModelData`` of the artifacts at ``uri``, whose
    binding to a model grants the model's role read on them (``grant``)."""
    alpha = _alpha(scope, "model_data")

    class _ArtifactsModelData(alpha.ModelData):  # type: ignore[misc,name-defined]
        """The artifacts of a job of this stack."""

        def bind(self, scope: Construct, model: Any) -> Any:
            grant(model)
            return alpha.ModelDataConfig(uri=uri)

    return _ArtifactsModelData()


def container_image(
    scope: Construct,
    uri: str,
    grant: Callable[[iam.IGrantable], None] | None,
    what: str = "serving_image",
) -> Any:
    """An ``aws_cdk.aws_sagemaker_alpha.ContainerImage`` of the image ``uri``, whose
    binding to a model grants the model's role the pull (``grant``; none for
    SageMaker's own framework images)."""
    alpha = _alpha(scope, what)

    class _JobImage(alpha.ContainerImage):  # type: ignore[misc,name-defined]
        """An image a job of this stack names."""

        def bind(self, scope: Construct, model: Any) -> Any:
            if grant is not None:
                grant(model)
            return alpha.ContainerImageConfig(image_name=uri)

    return _JobImage()


def container_definition(
    scope: Construct,
    *,
    image: str,
    model_data_url: str,
    environment: Any,
    grant: Callable[[iam.IGrantable], None],
) -> Any:
    """An ``aws_cdk.aws_sagemaker_alpha.ContainerDefinition`` serving ``model_data_url``
    from ``image`` with ``environment``; binding it grants the model's role what
    ``grant`` gives (the artifacts, the code)."""
    alpha = _alpha(scope, "container_definition")
    return alpha.ContainerDefinition(
        image=container_image(scope, image, None, "container_definition"),
        model_data=model_data(scope, model_data_url, grant),
        environment=dict(environment or {}),
    )
