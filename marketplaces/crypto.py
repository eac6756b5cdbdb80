"""The secrets-at-rest helper moved to the ground floor (desk.crypto) so that logistics can use it too; marketplaces
keeps importing it by this name."""

from desk.crypto import SecretUnreadable, decrypt, encrypt, fernet, rotate

__all__ = ["SecretUnreadable", "decrypt", "encrypt", "fernet", "rotate"]
