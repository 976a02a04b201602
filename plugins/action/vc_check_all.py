"""Action: read every device of the play in one task (threads on the controller)."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        spec = {"workers": {"type": "int", "default": ansible_glue.FAN_OUT_WORKERS}}
        _, args = self.validate_argument_spec(argument_spec=spec)
        result.update(
            ansible_glue.run_check_all(task_vars or {}, self._templar, int(args["workers"]))
        )
        return result
