"""Action: what an access switch is and holds on the codec's port; reads only."""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _requires_connection = False
    TRANSFERS_FILES = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        from vcprov import ansible_glue

        result = super().run(tmp, task_vars)
        spec = {**ansible_glue.CONNECTION_SPEC, "codec_port": {"type": "str", "required": True}}
        _, args = self.validate_argument_spec(argument_spec=spec)
        result.update(ansible_glue.run_facts(dict(args), task_vars or {}, "switch"))
        return result
