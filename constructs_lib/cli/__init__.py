"""``constructs-lib``, the console command shipped with the library (``python -m
constructs_lib`` is the same). It needs the ``cli`` extra::

    pip install 'boto3>=1.35,<2' 'rich>=13.7,<16'    # the library's [cli] extra
    constructs-lib watch MyStack              # the stack's jobs, live, while `cdk deploy` runs
    constructs-lib watch --assembly cdk.out --once
    constructs-lib preflight --assembly cdk.out   # what the account lacks, before a deploy

Importing this package imports neither the AWS CDK nor boto3: the command starts fast,
and says which extra to install when boto3 or rich is missing.

May import: the handler (the kinds' names); nothing imports it but ``__main__``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

#: What the command needs beyond the library: the ``cli`` extra.
CLI_EXTRA = ("boto3", "rich")

_WATCH = """\
Shows what the training, tuning and queued jobs of a stack are doing: each job's
construct path and name, its status and secondary status with their history,
elapsed time against its max runtime, billable time, the latest values of its
metrics (a tuning job: its training jobs' counts and the best so far; a queued job:
AWS Batch's status), and for a running or failed job the last lines of its
CloudWatch log (a failed job: SageMaker's reason too).

Jobs are found from the stack's template (CloudFormation's copy, or the cloud
assembly's with --assembly, which works before the stack exists) and the library's
tags on each job: a few API calls per refresh, whatever the account holds.
"""

_EXIT_CODES = """\
exit codes:
  0  every job completed
  1  a job failed or was stopped
  2  the command could not watch (a usage error, an unknown stack, AWS refused)
  3  a job is still running or not started (--once)
  130 interrupted (Ctrl-C)
"""


def parser() -> argparse.ArgumentParser:
    """The command line (``--help`` documents every option)."""
    top = argparse.ArgumentParser(
        prog="constructs-lib",
        description="Console commands of constructs-lib (SageMaker training jobs as "
        "CloudFormation resources).",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    watch = commands.add_parser(
        "watch",
        help="show what a stack's training and tuning jobs are doing",
        description=_WATCH,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument(
        "stacks",
        nargs="*",
        metavar="STACK",
        help="the stack's name (several: watch each); with --assembly, default: every "
        "stack of the assembly that has jobs",
    )
    watch.add_argument(
        "--stack",
        dest="more_stacks",
        action="append",
        default=[],
        metavar="NAME",
        help="a stack to watch, as STACK (repeatable)",
    )
    watch.add_argument(
        "--assembly",
        type=Path,
        metavar="DIR",
        help="read the jobs from this synthesized cloud assembly (e.g. cdk.out) instead "
        "of CloudFormation's copy of the template; works before the stack exists",
    )
    watch.add_argument(
        "--once",
        action="store_true",
        help="print one snapshot and exit: 0 when every job completed, 1 when any failed "
        "or stopped, 3 while any is still running or not started",
    )
    watch.add_argument(
        "--logs",
        type=int,
        default=5,
        metavar="N",
        help="the last N log lines of each job (a completed job's read once; 0: none); default 5",
    )
    watch.add_argument(
        "--follow",
        action="store_true",
        help="stream each job's log lines as they are written (as the SageMaker SDK's "
        "fit(logs=True)), each prefixed with the job's construct path",
    )
    watch.add_argument(
        "--interval",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="seconds between refreshes; default 15",
    )
    watch.add_argument(
        "--region",
        help="the AWS region (default: the assembly's, else AWS_REGION or your profile's)",
    )
    watch.add_argument("--profile", help="the named profile of your AWS config to use")
    watch.add_argument(
        "--plain",
        action="store_true",
        help="plain lines instead of a live display (the default without a terminal)",
    )
    preflight = commands.add_parser(
        "preflight",
        help="before a deploy: what the account lacks for an app (SageMaker quotas)",
        description=_PREFLIGHT,
        epilog=_PREFLIGHT_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument(
        "--assembly",
        type=Path,
        required=True,
        metavar="DIR",
        help="the app's cloud assembly (`cdk synth` writes cdk.out)",
    )
    preflight.add_argument(
        "--stack",
        dest="stacks",
        action="append",
        default=[],
        metavar="NAME",
        help="a stack of the assembly to check (repeatable); default: every stack with jobs",
    )
    preflight.add_argument(
        "--region",
        help="the AWS region (default: each stack's, else AWS_REGION or your profile's)",
    )
    preflight.add_argument("--profile", help="the named profile of your AWS config to use")
    preflight.add_argument(
        "--cost",
        action="store_true",
        help="also print the deploy's worst case: each job's instance-hours at most times "
        "its on-demand price from the AWS Price List (pricing:GetProducts), and a total",
    )
    return top


_PREFLIGHT = """\
Checks the CDK bootstrap version the deploy needs, the Lambda concurrency its
functions reserve, and whether its jobs in private subnets reach S3; reads what the
app will run at once, per instance type and usage (training, spot training,
processing, transform; jobs that wait for each other do not add up, jobs that can run
together do, a tuning job counts its parallel training jobs), and compares it with the
account's SageMaker quotas in Service Quotas (matched by the quota's name). Prints a
line per shortfall: the quota, what the app needs at once, the account's value, and
the request that raises it. With --cost, also the deploy's worst case: each job's
instances times the longest it can run (its max runtime, a spot job's max wait, a
tuning job's jobs; never longer than the deploy waits for it) times the on-demand
price of the region in the AWS Price List, and a total.
"""

_PREFLIGHT_EXIT_CODES = """\
exit codes:
  0  ready
  1  something lacks
  2  could not check (the missing permission named)
"""


def _missing_extra() -> list[str]:
    return [name for name in CLI_EXTRA if importlib.util.find_spec(name) is None]


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: runs a command, returns its exit code."""
    args = parser().parse_args(argv)
    missing = _missing_extra()
    if missing:
        print(
            f"constructs-lib {args.command} needs {' and '.join(missing)}, which the "
            "library does not install by itself (its [cli] extra): pip install "
            "'boto3>=1.35,<2' 'rich>=13.7,<16'",
            file=sys.stderr,
        )
        return 2
    if args.command == "preflight":
        return _preflight(args)
    from . import watch  # noqa: PLC0415 - only with the extra installed
    from ._assembly import WatchError  # noqa: PLC0415
    from ._aws import aws_error, clients_factory  # noqa: PLC0415

    if args.logs < 0 or args.interval <= 0:
        print("constructs-lib watch: --logs must be >= 0 and --interval > 0", file=sys.stderr)
        return 2
    options = watch.Options(
        stacks=(*args.stacks, *args.more_stacks),
        assembly=args.assembly,
        once=args.once,
        logs=args.logs,
        follow=args.follow,
        interval=args.interval,
        region=args.region,
        profile=args.profile,
        plain=args.plain,
    )
    try:
        return watch.run(options, clients_factory(args.profile), sys.stdout)
    except WatchError as error:
        print(f"constructs-lib watch: {error}", file=sys.stderr)
        return watch.EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # AWS's refusals, credentials: say it, no traceback
        message = aws_error(error)
        if message is None:
            raise
        print(f"constructs-lib watch: {message}", file=sys.stderr)
        return watch.EXIT_ERROR


def _preflight(args: argparse.Namespace) -> int:
    from . import preflight  # noqa: PLC0415 - only with the extra installed
    from ._assembly import WatchError  # noqa: PLC0415
    from ._aws import aws_error, clients_factory  # noqa: PLC0415

    options = preflight.Options(
        assembly=args.assembly,
        stacks=args.stacks,
        region=args.region,
        profile=args.profile,
        cost=args.cost,
    )
    try:
        return preflight.run(options, clients_factory(args.profile), sys.stdout)
    except WatchError as error:
        print(f"constructs-lib preflight: {error}", file=sys.stderr)
        return preflight.EXIT_ERROR
    except Exception as error:  # AWS's refusals, credentials: say it, no traceback
        message = aws_error(error)
        if message is None:
            raise
        print(f"constructs-lib preflight: {message}", file=sys.stderr)
        return preflight.EXIT_ERROR
