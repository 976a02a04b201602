"""Action: check the province standard for every device of the play, once, on the controller."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        self.validate_argument_spec(argument_spec={"hosts": {"type": "list", "elements": "str"}})
        names = self._task.args.get("hosts") or task_vars.get("ansible_play_hosts_all") or []
        run_dir, errors = ansible_glue.prepare_run(task_vars, [str(n) for n in names])
        if errors:
            result.update(
                failed=True,
                errors=errors,
                msg="the standard is invalid, no device was touched:\n  " + "\n  ".join(errors),
            )
            return result
        result.update(
            changed=False,
            run_dir=run_dir,
            ansible_facts={"vc_run_dir": run_dir},
            msg=f"standard of {len(names)} device(s) checked",
        )
        return result
