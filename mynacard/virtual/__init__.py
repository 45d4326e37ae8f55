"""Virtual My Number Card for tests and demos, usable in-process or through pcscd and vpcd."""

from mynacard.virtual.card import VirtualCard

__all__ = ["VirtualCard"]
