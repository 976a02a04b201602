"""Action: bring one switch to the province standard (runs on the controller)."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(argument_spec=ansible_glue.CONFIG_SPEC)
        result.update(
            ansible_glue.run_config(
                dict(args),
                task_vars or {},
                self._templar,
                role="switch",
                check=bool(self._task.check_mode),
                diff=bool(self._task.diff),
            )
        )
        return result
