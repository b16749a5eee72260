"""SageMaker's model registry: a model package group (``ModelPackageGroup``, with its
importers and grants, as aws-cdk-lib's L2s have them) and the versions a job registers
in it (``job.register_model(group, ...)``): an ``AWS::SageMaker::ModelPackage`` whose
inference specification serves the trained artifacts, created once training completed
and its quality gate passed. Each retraining registers a new version; the earlier
ones stay in the registry (a version is retained when it is replaced)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import ArnFormat, Names, RemovalPolicy, Resource, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from .._shared.stacks import stack_of
from ..definition._cautions import warn_of_serving_processor
from ..definition._instance_type import InstanceType
from ..security._nag import acknowledge_statement
from ._approval import ModelApproval

if TYPE_CHECKING:
    from ._serving import TrainedModel

__all__ = [
    "IModelPackageGroup",
    "ModelApproval",
    "ModelPackageGroup",
    "RegisteredModel",
]

#: SageMaker's name rule for model package groups (63 characters).
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
#: What reading a group's versions takes.
READ_ACTIONS = (
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:DescribeModelPackage",
)
#: What registering a version in a group takes (and tagging it).
REGISTER_ACTIONS = ("sagemaker:CreateModelPackage", "sagemaker:AddTags")
#: The EventBridge detail-type of a version's changes (its approval among them).
VERSION_STATE_CHANGE = "SageMaker Model Package State Change"
#: What approving or rejecting a version takes.
APPROVE_ACTIONS = ("sagemaker:UpdateModelPackage",)


class IModelPackageGroup(Protocol):
    """A model package group, created in this app or imported."""

    @property
    def model_package_group_name(self) -> str:
        """The group's name."""
        ...

    @property
    def model_package_group_arn(self) -> str:
        """The group's ARN."""
        ...

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Describe the group and list and describe its versions."""
        ...

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Register versions in the group."""
        ...

    def grant_approve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Approve or reject the group's versions."""
        ...

    def on_version_approved(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
    ) -> events.Rule:
        """A rule for a version of the group becoming approved."""
        ...


class _GroupBase(Resource):
    """What created and imported groups share: the ARNs and the grants."""

    @property
    def model_package_group_name(self) -> str:
        raise NotImplementedError

    @property
    def model_package_group_arn(self) -> str:
        raise NotImplementedError

    def model_packages_arn(self) -> str:
        """The ARN pattern of the group's versions (``model-package/<group>/*``)."""
        return stack_of(self).format_arn(
            service="sagemaker",
            resource="model-package",
            resource_name=f"{_arn_name(self.model_package_group_name)}/*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    def grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """``actions`` on the group and its versions, for ``grantee``."""
        resources = [self.model_package_group_arn, self.model_packages_arn()]
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=resources
        )
        acknowledge_statement(
            grantee.grant_principal,
            list(actions),
            resources,
            "The versions of this model package group are named '<group>/<version>' by "
            "SageMaker: the wildcard is the group's versions only.",
        )
        return grant

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """Describe the group and list and describe its versions."""
        return self.grant(grantee, *READ_ACTIONS)

    def grant_register(self, grantee: iam.IGrantable) -> iam.Grant:
        """Register versions in the group (``CreateModelPackage``; what a pipeline or
        a scheduled retraining outside the stack needs)."""
        return self.grant(grantee, *REGISTER_ACTIONS)

    def grant_approve(self, grantee: iam.IGrantable) -> iam.Grant:
        """Approve or reject the group's versions (``UpdateModelPackage``)."""
        return self.grant(grantee, *APPROVE_ACTIONS)

    def on_version_approved(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        description: str | None = None,
    ) -> events.Rule:
        """An EventBridge rule for a version of this group becoming ``Approved`` (a
        scheduled run that passed with ``approval=APPROVED``, or a person's approval):
        the hook for serving the newest approved version, e.g. a pipeline that deploys
        the stack again with it. The event's ``detail`` holds the version's
        ``ModelPackageArn``."""
        rule = events.Rule(
            self,
            construct_id,
            description=description or f"Versions of model package group {self.node.path} approved",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[VERSION_STATE_CHANGE],
                detail={
                    "ModelPackageGroupName": [self.model_package_group_name],
                    "ModelApprovalStatus": [ModelApproval.APPROVED.value],
                },
            ),
        )
        if target is not None:
            rule.add_target(target)
        return rule


def _arn_name(name: str) -> str:
    """A group's name as SageMaker spells it in ARNs (lower case)."""
    return name if Token.is_unresolved(name) else name.lower()


class ModelPackageGroup(_GroupBase):
    """A SageMaker model package group (``AWS::SageMaker::ModelPackageGroup``): the
    registry's versioned home of a model, which jobs register their models in
    (``job.register_model(group)``).

    :param model_package_group_name: default: a name generated from the construct's
        path (at most 63 characters).
    :param description: default: none.
    :param removal_policy: what deleting the stack does to the group; default
        ``RETAIN`` (its versions are the registry's history, and a group with
        versions cannot be deleted).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_package_group_name: str | None = None,
        description: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id, physical_name=model_package_group_name)
        name = model_package_group_name
        if name is None:
            name = Names.unique_resource_name(self, max_length=63, separator="-")
            name = re.sub(r"[^a-zA-Z0-9-]+", "-", name).strip("-")
        elif not Token.is_unresolved(name) and not _NAME.match(name):
            raise ValueError(
                f"[{self.node.path}] model_package_group_name: {name!r} is invalid: at most "
                "63 letters, digits and hyphens, starting with a letter or digit, no two "
                "hyphens in a row"
            )
        self.resource = sagemaker.CfnModelPackageGroup(
            self,
            "Resource",
            model_package_group_name=name,
            model_package_group_description=description,
        )
        self.resource.apply_removal_policy(removal_policy)
        self._name = name

    @property
    def model_package_group_name(self) -> str:
        """The group's name."""
        return self.resource.ref

    @property
    def model_package_group_arn(self) -> str:
        """The group's ARN."""
        return self.resource.attr_model_package_group_arn

    @staticmethod
    def from_model_package_group_name(
        scope: Construct, construct_id: str, model_package_group_name: str
    ) -> IModelPackageGroup:
        """A group of this account and region, by name."""
        return _ImportedGroup(scope, construct_id, name=model_package_group_name)

    @staticmethod
    def from_model_package_group_arn(
        scope: Construct, construct_id: str, model_package_group_arn: str
    ) -> IModelPackageGroup:
        """A group by ARN (``arn:...:model-package-group/<name>``), of any account."""
        stack = stack_of(scope)
        name = stack.split_arn(model_package_group_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name
        return _ImportedGroup(scope, construct_id, name=str(name), arn=model_package_group_arn)


class _ImportedGroup(_GroupBase):
    def __init__(
        self, scope: Construct, construct_id: str, *, name: str, arn: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self._name = name
        self._arn = arn or stack_of(scope).format_arn(
            service="sagemaker",
            resource="model-package-group",
            resource_name=_arn_name(name),
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    @property
    def model_package_group_name(self) -> str:
        return self._name

    @property
    def model_package_group_arn(self) -> str:
        return self._arn


class RegisteredModel(Construct):
    """A version of a job's model in a model package group
    (``AWS::SageMaker::ModelPackage``), made by ``job.register_model(...)``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trained: TrainedModel,
        group: IModelPackageGroup,
        container: sagemaker.CfnModel.ContainerDefinitionProperty | None,
        approval: ModelApproval,
        inference_instance_types: Sequence[InstanceType | str] | None,
        content_types: Sequence[str] | None,
        response_types: Sequence[str] | None,
        description: str | None,
        metadata: Mapping[str, str],
        statistics: str | None = None,
    ) -> None:
        container_definition = _container(trained, container)
        warn_of_serving_processor(
            trained.scope,
            container_definition.image,
            [str(t) for t in inference_instance_types or ()],
            "register_model",
        )
        super().__init__(scope, construct_id)
        self._trained = trained
        self.resource = sagemaker.CfnModelPackage(
            self,
            "Resource",
            model_package_group_name=group.model_package_group_name,
            model_package_description=description,
            model_approval_status=approval.value,
            inference_specification=sagemaker.CfnModelPackage.InferenceSpecificationProperty(
                containers=[container_definition],
                supported_content_types=list(content_types or []),
                supported_response_mime_types=list(response_types or []),
                supported_realtime_inference_instance_types=(
                    [str(t) for t in inference_instance_types] if inference_instance_types else None
                ),
            ),
            customer_metadata_properties=dict(metadata) or None,
            model_metrics=(
                sagemaker.CfnModelPackage.ModelMetricsProperty(
                    model_quality=sagemaker.CfnModelPackage.ModelQualityProperty(
                        statistics=sagemaker.CfnModelPackage.MetricsSourceProperty(
                            content_type="application/json", s3_uri=statistics
                        )
                    )
                )
                if statistics is not None
                else None
            ),
        )
        # Each retraining replaces the version: the earlier one stays in the registry.
        self.resource.apply_removal_policy(RemovalPolicy.RETAIN)
        self.group = group

    @property
    def model_package_arn(self) -> str:
        """The version's ARN: serve it with ``CfnModel(primary_container=
        ContainerDefinitionProperty(model_package_name=registered.model_package_arn))``
        (with ``grant_read_model_artifacts`` on the model's role)."""
        return self.resource.attr_model_package_arn

    def grant_read_model_artifacts(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (the role of a model serving this version) read the
        artifacts the version serves."""
        self._trained.grant_read_model_artifacts(grantee)


def _container(
    trained: TrainedModel,
    container: sagemaker.CfnModel.ContainerDefinitionProperty | None,
    caller: str = "register_model",
) -> sagemaker.CfnModelPackage.ModelPackageContainerDefinitionProperty:
    """The version's container: the one given (``job.inference_container(...)``), or the
    training image serving the artifacts (a built-in algorithm, an image of your own).
    ``caller`` names the method in messages."""
    where = f"[{trained.scope.node.path}] {caller}: container"
    if container is None:
        if trained.spec is not None:
            raise ValueError(
                f"{where}: None is invalid: the job trains on a "
                "framework image, whose model is served by the framework's serving image "
                "with the serving code: give container=job.inference_container("
                "entry_point=..., instance_type=...)"
            )
        if trained.image is None or trained.image.image_uri is None:
            raise ValueError(
                f"{where}: None is invalid: the job runs no image "
                "of its own (an algorithm resource or a serverless job): give container="
            )
        return sagemaker.CfnModelPackage.ModelPackageContainerDefinitionProperty(
            image=trained.image.image_uri, model_data_url=trained.model_data_url
        )
    environment: Any = container.environment
    if container.image is None:
        raise ValueError(
            f"{where}: {container!r} is invalid: a model package's container names its image"
        )
    return sagemaker.CfnModelPackage.ModelPackageContainerDefinitionProperty(
        image=container.image,
        model_data_url=container.model_data_url or trained.model_data_url,
        environment=environment,
    )
