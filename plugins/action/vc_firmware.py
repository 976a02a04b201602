"""Action: codec firmware in rings for the codecs of the play (vcprov upgrade)."""

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
            "to": {"type": "str", "default": "target"},
            "ring": {"type": "str"},
            "now": {"type": "bool", "default": False},
            "soak": {"type": "float"},
            **ansible_glue.FIRMWARE_SPEC,
        }
        _, args = self.validate_argument_spec(argument_spec=spec)
        result.update(
            ansible_glue.run_firmware(
                "upgrade", dict(args), task_vars or {}, self._templar, bool(self._task.check_mode)
            )
        )
        return result
