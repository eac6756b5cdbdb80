"""What an evidence upload may be, decided by its bytes, not its name: photos and unboxing videos, within a size.

`filetype` reads the file's magic numbers; images are also opened by Pillow so a JPEG header on garbage fails.
"""

import hashlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from desk.errors import ActionRefused

# MIME type → (kind, extension we store it under)
ACCEPTED = {
    "image/jpeg": ("photo", "jpg"),
    "image/png": ("photo", "png"),
    "image/webp": ("photo", "webp"),
    "image/heic": ("photo", "heic"),
    "video/mp4": ("video", "mp4"),
    "video/quicktime": ("video", "mov"),
}
PILLOW_CHECKED = {"image/jpeg", "image/png", "image/webp"}


@dataclass(frozen=True)
class CheckedUpload:
    kind: str
    content_type: str
    extension: str
    size: int
    sha256: str


def check_evidence_upload(upload) -> CheckedUpload:
    """Refuse anything that is not a photo or video we accept, or that is too large for its kind."""
    head = upload.read(8192)
    upload.seek(0)
    guessed = filetype.guess(head)
    content_type = guessed.mime if guessed else ""
    if content_type not in ACCEPTED:
        raise ActionRefused(
            "evidence_type",
            _("“%(name)s” is not a photo (JPEG, PNG, WebP, HEIC) or a video (MP4, MOV).") % {"name": upload.name},
        )
    kind, extension = ACCEPTED[content_type]
    limit = settings.EVIDENCE_MAX_VIDEO_BYTES if kind == "video" else settings.EVIDENCE_MAX_PHOTO_BYTES
    if upload.size > limit:
        raise ActionRefused(
            "evidence_size",
            _("“%(name)s” is larger than %(limit)s.") % {"name": upload.name, "limit": filesizeformat(limit)},
        )
    if content_type in PILLOW_CHECKED:
        try:
            with Image.open(upload) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ActionRefused(
                "evidence_type", _("“%(name)s” is not a readable picture.") % {"name": upload.name}
            ) from error
        finally:
            upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(kind, content_type, extension, upload.size, digest.hexdigest())
