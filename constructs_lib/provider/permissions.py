"""What the provider may do to the jobs of its stack: the actions on training jobs
(those of the stack's name prefix, and fixed names), on hyperparameter tuning jobs
(the same, and reading their training jobs), on processing and transform jobs (the same),
``iam:PassRole`` on exactly the jobs' execution roles, and watching a VPC job's
network interfaces on delete.

Jobs register after the statements exist (and possibly after a synth froze them): the
job ARNs are lists read at synthesis.
"""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, IListProducer, IResolveContext, Lazy, Stack, Token
from aws_cdk import aws_iam as iam

from ..handler.kinds import JobKind
from ..security._nag import acknowledge, add_statement, wildcard_findings

#: The actions the provider performs on the training jobs of its stack.
TRAINING_JOB_ACTIONS = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:DeleteTrainingJob",
    "sagemaker:UpdateTrainingJob",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]

#: The actions the provider performs on the hyperparameter tuning jobs of its stack.
TUNING_JOB_ACTIONS = [
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:DescribeHyperParameterTuningJob",
    "sagemaker:StopHyperParameterTuningJob",
    "sagemaker:DeleteHyperParameterTuningJob",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]

#: The actions the provider performs on the processing jobs of its stack.
PROCESSING_JOB_ACTIONS = [
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:DeleteProcessingJob",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]

#: The actions the provider performs on the transform jobs of its stack (there is no
#: DeleteTransformJob).
TRANSFORM_JOB_ACTIONS = [
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]
_KIND_ACTIONS = {"processing": PROCESSING_JOB_ACTIONS, "transform": TRANSFORM_JOB_ACTIONS}

#: The actions on AWS Batch that submit a training job to a queue (on the queue), and
#: that tag the service job at submission, describe and terminate it (on the service
#: jobs): the provider's when its jobs are queued, and a queue's ``grant_submit``.
SUBMIT_ACTIONS = ("batch:SubmitServiceJob",)
JOB_ACTIONS = ("batch:DescribeServiceJob", "batch:TerminateServiceJob", "batch:TagResource")

#: How Batch names the training job of a service job: ``AWSBatch<job name>...``.
BATCH_TRAINING_JOB_PREFIX = "AWSBatch"

#: Roles per iam:PassRole statement of the provider (about 3,000 characters).
PASS_ROLE_CHUNK = 50


@jsii.implements(IListProducer)
class _ListOf:
    """The current items of a list, read each time the token resolves."""

    def __init__(self, items: list[str]) -> None:
        self._items = items

    def produce(self, context: IResolveContext) -> list[str] | None:
        return list(self._items)


def _spellings(name: str) -> list[str]:
    """SageMaker ARNs may carry the name lower-cased: both spellings of a fixed name."""
    return [name] if Token.is_unresolved(name) else sorted({name, name.lower()})


class JobPermissions:
    """The statements of the provider's role about jobs, grown as jobs register."""

    def __init__(
        self, role: iam.Role, *, stack: Stack, job_name_prefix: str, tuning_name_prefix: str
    ) -> None:
        self._role = role
        self._stack = stack
        self._tuning_name_prefix = tuning_name_prefix
        self._job_arns = [self._arn(f"{job_name_prefix}-*")]
        self._tuning_arns: list[str] | None = None
        self._tuned_training_arns: list[str] = []
        self._pass_role_statement: iam.PolicyStatement | None = None
        self._passed = 0
        self._watches_network = False
        self._job_name_prefix = job_name_prefix
        self._queue_arns: list[str] | None = None
        self._kind_arns: dict[str, list[str]] = {}
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=list(TRAINING_JOB_ACTIONS),
                resources=Lazy.uncached_list(_ListOf(self._job_arns)),
            )
        )
        acknowledge(
            role,
            wildcard_findings(stack, [], [self._job_arns[0]]),
            "Generated job names are '<stack prefix>-<hash>': the provider may act on the "
            "training jobs of this stack's name prefix only.",
        )

    def allow_training(self, job_name: str) -> None:
        """The training actions on a job of a fixed name."""
        self._job_arns.extend(self._arn(name) for name in _spellings(job_name))

    def allow_tuning(self, job_name: str | None) -> None:
        """The tuning actions on this stack's tuning jobs (its prefix, and ``job_name``),
        and DescribeTrainingJob on their training jobs (SageMaker names them
        ``<tuning job name>-<number>-<hash>``): the best one's artifacts are read."""
        if self._tuning_arns is None:
            prefix = f"{self._tuning_name_prefix}-*"
            self._tuning_arns = [self._arn(prefix, "hyper-parameter-tuning-job")]
            self._tuned_training_arns.append(self._arn(prefix))
            self._role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(TUNING_JOB_ACTIONS),
                    resources=Lazy.uncached_list(_ListOf(self._tuning_arns)),
                )
            )
            self._role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeTrainingJob"],
                    resources=Lazy.uncached_list(_ListOf(self._tuned_training_arns)),
                )
            )
            acknowledge(
                self._role,
                wildcard_findings(
                    self._stack, [], [self._tuning_arns[0], self._tuned_training_arns[0]]
                ),
                "Generated tuning job names are '<stack prefix>-<hash>', and SageMaker names "
                "their training jobs '<tuning job name>-<number>-<hash>': the provider may "
                "act on the tuning jobs of this stack's prefix only, and only read their "
                "training jobs.",
            )
        if job_name is not None:
            names = _spellings(job_name)
            training_arns = [self._arn(f"{name}-*") for name in names]
            self._tuning_arns.extend(self._arn(n, "hyper-parameter-tuning-job") for n in names)
            self._tuned_training_arns.extend(training_arns)
            acknowledge(
                self._role,
                wildcard_findings(self._stack, [], training_arns),
                "SageMaker names a tuning job's training jobs '<tuning job name>-<number>-"
                "<hash>': the provider only reads those of this stack's tuning jobs.",
            )

    def allow_kind(self, kind: JobKind, job_name: str | None) -> None:
        """The actions on this stack's jobs of ``kind`` (processing, transform): those of
        its name prefix, and ``job_name``."""
        arns = self._kind_arns.get(kind.key)
        if arns is None:
            arns = self._kind_arns[kind.key] = [
                self._arn(f"{self._job_name_prefix}-*", kind.arn_resource)
            ]
            self._role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(_KIND_ACTIONS[kind.key]),
                    resources=Lazy.uncached_list(_ListOf(arns)),
                )
            )
            acknowledge(
                self._role,
                wildcard_findings(self._stack, [], [arns[0]]),
                f"Generated {kind.noun.lower()} names are '<stack prefix>-<hash>': the "
                f"provider may act on the {kind.noun.lower()}s of this stack's name prefix "
                "only.",
            )
        if job_name is not None:
            arns.extend(self._arn(name, kind.arn_resource) for name in _spellings(job_name))

    @property
    def has_queues(self) -> bool:
        return self._queue_arns is not None

    def allow_queue(self, queue_arn: str) -> None:
        """Submitting to the AWS Batch queue ``queue_arn``; describing, terminating and
        tagging service jobs; the training actions on the training jobs Batch starts
        for this stack's jobs (``AWSBatch<stack prefix>-...``)."""
        if self._queue_arns is None:
            self._queue_arns = []
            self._role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=list(SUBMIT_ACTIONS),
                    resources=Lazy.uncached_list(_ListOf(self._queue_arns)),
                )
            )
            service_jobs = self._stack.format_arn(
                service="batch",
                resource="service-job",
                resource_name="*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
            add_statement(
                self._role,
                actions=list(JOB_ACTIONS),
                resources=[service_jobs],
                reason="AWS Batch names a service job by an id it picks at submission: the "
                "provider may act on the service jobs of this account and region; it only "
                "submits to this stack's queues.",
            )
            batch_names = _spellings(f"{BATCH_TRAINING_JOB_PREFIX}{self._job_name_prefix}-*")
            self._job_arns.extend(self._arn(name) for name in batch_names)
            acknowledge(
                self._role,
                wildcard_findings(self._stack, [], [self._arn(n) for n in batch_names]),
                "AWS Batch names the training job of a queued job 'AWSBatch<job name>"
                "<hash>': the provider may act on those of this stack's name prefix only.",
            )
        if queue_arn not in self._queue_arns:
            self._queue_arns.append(queue_arn)

    def allow_pass_role(self, role_arn: str) -> None:
        """``iam:PassRole`` of one more execution role to SageMaker, in statements of
        :data:`PASS_ROLE_CHUNK` roles: concrete lists (not a Lazy), so that aws-cdk-lib
        sizes them and moves a policy that outgrows IAM's 10,240 characters into
        overflow policies."""
        statement = self._pass_role_statement
        self._passed += 1
        if statement is not None and (self._passed - 1) % PASS_ROLE_CHUNK:
            try:
                statement.add_resources(role_arn)
                return
            except RuntimeError:
                pass  # frozen by an earlier synthesis: start another statement
        self._pass_role_statement = iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
        self._role.add_to_principal_policy(self._pass_role_statement)

    def watch_network(self) -> None:
        """Reading network interfaces, to wait for a VPC job's on delete."""
        if self._watches_network:
            return
        self._watches_network = True
        add_statement(
            self._role,
            actions=["ec2:DescribeNetworkInterfaces"],
            resources=["*"],
            reason="ec2:DescribeNetworkInterfaces supports no resource scoping: IAM requires "
            "'*'. The provider only reads, to wait for a VPC job's interfaces on delete.",
        )

    def _arn(self, name: str, resource: str = "training-job") -> str:
        return self._stack.format_arn(service="sagemaker", resource=resource, resource_name=name)
