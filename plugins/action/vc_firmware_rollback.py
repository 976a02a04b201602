"""Action: codecs back to a previous version and its configuration (vcprov rollback)."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        spec = {
            "snapshot": {"type": "str"},
            **ansible_glue.FIRMWARE_SPEC,
            "call_wait": {"type": "float", "default": 0.0},  # a codec in a call is left
        }
        _, args = self.validate_argument_spec(argument_spec=spec)
        result.update(
            ansible_glue.run_firmware(
                "rollback", dict(args), task_vars or {}, self._templar, bool(self._task.check_mode)
            )
        )
        return result
