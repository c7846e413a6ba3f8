"""infra/terraform checked offline: fmt, init from the local provider mirror, validate, `terraform test` (plan-mode
rules against a mocked AWS provider), checkov. Where terraform, the provider or checkov is missing, the step says
so and is skipped; it never passes without running (docs/deploy.md, "Checking the modules")."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "infra" / "terraform"
PROVIDER = "registry.terraform.io/hashicorp/aws"
PROVIDER_VERSION = "5.100.0"
# Where the machine keeps the provider, unpacked (hostname/namespace/type/version/os_arch/); overridable.
DEFAULT_MIRROR = "/opt/tf-plugins"
# terraform test loads the 700 MB provider once per run; on a loaded 2-core box the whole file takes minutes.
TIMEOUT = 1500


@dataclass(frozen=True)
class Terraform:
    binary: str
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, *args, "-no-color"],
            cwd=MODULES,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )


def _platform() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def _mirror() -> Path:
    return Path(os.environ.get("YILIAN_TF_PROVIDER_MIRROR", DEFAULT_MIRROR))


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    binary = os.environ.get("YILIAN_TERRAFORM") or shutil.which("terraform")
    if not binary:
        pytest.skip("terraform is not installed on this machine (not on PATH, YILIAN_TERRAFORM unset)")
    provider_dir = _mirror() / PROVIDER / PROVIDER_VERSION / _platform()
    if not provider_dir.is_dir():
        pytest.skip(f"the provider {PROVIDER} {PROVIDER_VERSION} is not in the local mirror: no {provider_dir}")
    work = tmp_path_factory.mktemp("terraform")
    # Our own CLI config: the machine's default path points at a file that does not exist, and nothing may be
    # fetched from a registry. Only the mirror is consulted.
    cli_config = work / "cli.tfrc"
    cli_config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{_mirror()}"\n    include = ["{PROVIDER}"]\n  }}\n'
        "}\n"
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        # .terraform/ goes to the temp dir, not into the source tree.
        "TF_DATA_DIR": str(work / "data"),
    }
    tf = Terraform(binary, env)
    # -lockfile=readonly: the committed .terraform.lock.hcl must already match the provider; init may not edit it.
    init = tf.run("init", "-backend=false", "-input=false", "-lockfile=readonly")
    assert init.returncode == 0, init.stdout + init.stderr
    yield tf


def test_fmt_is_clean() -> None:
    binary = os.environ.get("YILIAN_TERRAFORM") or shutil.which("terraform")
    if not binary:
        pytest.skip("terraform is not installed on this machine (not on PATH, YILIAN_TERRAFORM unset)")
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", "-no-color"],
        cwd=MODULES,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


def test_validate(terraform: Terraform) -> None:
    result = terraform.run("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The configuration is valid" in result.stdout


def test_plan_rules(terraform: Terraform) -> None:
    runs = sum(len(re.findall(r'^run "', f.read_text(), re.M)) for f in (MODULES / "tests").glob("*.tftest.hcl"))
    assert runs >= 10, "the rule file lost its runs"
    result = terraform.run("test")
    assert result.returncode == 0, result.stdout + result.stderr
    # Every run ran and passed: none skipped after an error.
    assert f"Success! {runs} passed, 0 failed." in result.stdout, result.stdout


def test_no_hard_coded_partition() -> None:
    """aws-cn: an ARN that says arn:aws: would point at the global partition; every ARN is built from the partition."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(MODULES.rglob("*.tf"))
        if ".terraform" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "arn:aws:" in line
    ]
    assert not offenders, f"hard-coded arn:aws: at {offenders}"


def _checkov() -> str | None:
    explicit = os.environ.get("YILIAN_CHECKOV")
    if explicit:
        return explicit
    # `make infra-tools` installs the pinned checkov into its own venv: its pins (packaging<24, boto3) would
    # downgrade the project's test tools if it shared .venv.
    local = ROOT / ".venv-checkov" / "bin" / "checkov"
    if local.exists():
        return str(local)
    return shutil.which("checkov")


def test_checkov_has_no_unexplained_failure(tmp_path: Path) -> None:
    checkov = _checkov()
    if checkov is None:
        pytest.skip("checkov is not installed (make infra-tools puts it in .venv-checkov)")
    env = {
        **os.environ,
        # Offline: no guideline download, no version check, no platform upload.
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_SKIP_VERSION_CHECK": "1",
        "ENABLE_DEFINITION_KEY": "False",
    }
    result = subprocess.run(
        [
            checkov,
            "-d",
            str(MODULES),
            "--framework",
            "terraform",
            "--output",
            "json",
            "--skip-download",
            "--download-external-modules",
            "false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert not failed, "checkov failures (fix them, or skip in the code with the reason):\n" + "\n".join(failed)
    assert all(r["summary"]["parsing_errors"] == 0 for r in reports), "checkov could not parse a file"
    passed = sum(len(r["results"]["passed_checks"]) for r in reports)
    assert passed > 100, f"checkov passed only {passed} checks: did it read the modules?"
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for r in reports
        for c in r["results"]["skipped_checks"]
        if len((c.get("check_result", {}).get("suppress_comment") or "").strip()) < 20
    ]
    assert not unexplained, f"checks skipped without a reason: {unexplained}"
