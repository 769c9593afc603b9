"""The YAML loader every reader uses: libyaml's safe loader when PyYAML has it (much faster)."""

import yaml

SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
