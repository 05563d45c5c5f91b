"""tether: run AI coding-agent CLIs anywhere; watch and steer them from anywhere."""

__version__ = "0.1.0"
