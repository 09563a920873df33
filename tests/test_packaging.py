"""A plain, non-editable install ships the templates and the cases and works from any directory."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_install_works_outside_the_source_tree(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("drafter-*.whl"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = (
        "import drafter, pathlib\n"
        "from drafter import draft_reply, check_reply, analyze_message, Drafter, DraftRequest, Draft, "
        "CheckResult, Analysis, DrafterError\n"
        "from drafter.prompts import shipped_prompts_dir\n"
        "from drafter.evaluation.cases import load_cases\n"
        f"assert pathlib.Path(drafter.__file__).is_relative_to({str(site)!r}), drafter.__file__\n"
        f"assert shipped_prompts_dir().is_relative_to({str(site)!r})\n"
        "assert len(load_cases()) >= 150\n"
        "d = draft_reply(\"Bande d'incompétents, commande 48213\", offline=True)\n"
        "assert d.status == 'ok' and '48213' in d.reply\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DRAFTER_"))}
    env["PYTHONPATH"] = str(site)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
