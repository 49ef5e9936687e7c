"""Test oracle: the official CodeFormer composition of a whole photo, rebuilt from its published formulas.

This is not app code and the app never imports it. It restates, step by step and on the whole image (no
region of interest), what ``inference_codeformer.py`` and ``facelib/utils/face_restoration_helper.py``
(``read_image``, ``align_warp_face``, ``get_inverse_affine``, ``add_restored_face``,
``paste_faces_to_input_image``) and ``facelib/utils/misc.py`` (``is_gray``, ``bgr2gray``, ``adain_npy``) do,
so the parity tests can run where GitHub cannot be reached. Each function names the official step it
stands for; the formulas were read off the official source, the code is ours.

The app differs on purpose (docs/composition.md); :class:`Deliberate` switches those differences on here, and
``official_paste(background=...)`` takes the app's Lanczos background, so a test can check that everything
else is the same:
- ``centred_offset``: at upscale > 1 the face goes to ``u * x + (u - 1) / 2`` (pixel centres kept), not
  ``u * x + u / 2``;
- ``round_result``: the blended result is rounded to the nearest level, not truncated;
- ``clip_grey``: the grey face's AdaIN result is clipped to 0..255 (the official one wraps around in uint8).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: The official five-point template for a 512 face (``face_template`` in the helper).
OFFICIAL_TEMPLATE_512 = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.1936],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ]
)
#: ``borderValue`` of the official ``align_warp_face``, passed to OpenCV unchanged (so B=135, G=133, R=132).
OFFICIAL_BORDER_VALUE = (135, 133, 132)
#: ``is_gray(img, threshold=10)`` as ``read_image`` calls it.
OFFICIAL_GREY_THRESHOLD = 10
#: ``read_image`` enlarges photos whose short side is below this (bilinear) before anything else.
OFFICIAL_MIN_SIDE = 512


@dataclass(frozen=True)
class Deliberate:
    """Which of the app's deliberate differences to apply (all off = the official composition)."""

    centred_offset: bool = False
    round_result: bool = False
    clip_grey: bool = True
    """On by default: the issue asks for the clipped result; False reproduces the wrap-around."""


OFFICIAL = Deliberate()
APP_CHOICES = Deliberate(centred_offset=True, round_result=True, clip_grey=True)


def official_is_gray(image_bgr8: np.ndarray, threshold: float = OFFICIAL_GREY_THRESHOLD) -> bool:
    """``misc.is_gray``: mean over the channel pairs of the variance of their int16 difference <= threshold."""
    if image_bgr8.ndim == 2:
        return True
    c0, c1, c2 = (np.asarray(image_bgr8[:, :, i], dtype=np.int16) for i in range(3))
    diff_sum = ((c0 - c1).var() + (c1 - c2).var() + (c2 - c0).var()) / 3.0
    return bool(diff_sum <= threshold)


def official_enlarge_small(image_bgr8: np.ndarray) -> np.ndarray:
    """``read_image``: a photo whose short side is under 512 is enlarged bilinearly so that it is 512."""
    short = min(image_bgr8.shape[:2])
    if short >= OFFICIAL_MIN_SIDE:
        return image_bgr8
    factor = OFFICIAL_MIN_SIDE / short
    return cv2.resize(image_bgr8, (0, 0), fx=factor, fy=factor, interpolation=cv2.INTER_LINEAR)


def official_affine(landmarks: np.ndarray, face_size: int = 512) -> np.ndarray:
    """``align_warp_face``: similarity transform of the five points onto the scaled template (LMEDS)."""
    template = OFFICIAL_TEMPLATE_512 * (face_size / 512.0)
    return cv2.estimateAffinePartial2D(np.asarray(landmarks), template, method=cv2.LMEDS)[0]


def official_crop(image_bgr8: np.ndarray, affine: np.ndarray, face_size: int = 512) -> np.ndarray:
    """``align_warp_face``: the bilinear crop, constant border in the official grey."""
    return cv2.warpAffine(
        image_bgr8, affine, (face_size, face_size), borderMode=cv2.BORDER_CONSTANT, borderValue=OFFICIAL_BORDER_VALUE
    )


def official_bgr2gray(image_bgr: np.ndarray) -> np.ndarray:
    """``misc.bgr2gray``: 0.2989 R + 0.5870 G + 0.1140 B, repeated in three channels (float)."""
    b, g, r = image_bgr[:, :, 0], image_bgr[:, :, 1], image_bgr[:, :, 2]
    grey = 0.2989 * r + 0.5870 * g + 0.1140 * b
    return grey[:, :, np.newaxis].repeat(3, axis=2)


def official_adain(content: np.ndarray, style: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """``misc.adain_npy``: per channel, content normalised by its mean and sqrt(var + eps), given style's."""
    channels = content.shape[2]

    def mean_std(feature: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = feature.reshape(-1, channels)
        return flat.mean(axis=0).reshape(1, 1, channels), np.sqrt(flat.var(axis=0) + eps).reshape(1, 1, channels)

    style_mean, style_std = mean_std(style)
    content_mean, content_std = mean_std(content)
    return (content - content_mean) / content_std * style_std + style_mean


def official_grey_face(restored_bgr8: np.ndarray, cropped_bgr8: np.ndarray, choices: Deliberate = OFFICIAL):
    """``add_restored_face`` for a grey photo: grey, then AdaIN to the input crop (float, unrounded)."""
    face = official_adain(official_bgr2gray(restored_bgr8), cropped_bgr8)
    return np.clip(face, 0, 255) if choices.clip_grey else face


@dataclass(frozen=True)
class Composition:
    image: np.ndarray
    """The composed photo, uint8 BGR."""
    faces: np.ndarray
    """Where any face's trimmed square mask is > 0 (bool, output pixels): "inside the faces"."""
    soft: np.ndarray
    """The largest soft (feathered) mask value of any face per output pixel (float32)."""


def official_paste(
    input_bgr8: np.ndarray,
    restored: list[np.ndarray],
    affines: list[np.ndarray],
    upscale: int = 1,
    background: np.ndarray | None = None,
    choices: Deliberate = OFFICIAL,
) -> Composition:
    """``get_inverse_affine`` + ``paste_faces_to_input_image`` without ParseNet, face upsampler or boxes."""
    h, w = input_bgr8.shape[:2]
    h_up, w_up = int(h * upscale), int(w * upscale)
    if background is None:
        background = cv2.resize(input_bgr8, (w_up, h_up), interpolation=cv2.INTER_LINEAR)
    out = background.astype(np.float64)
    faces = np.zeros((h_up, w_up), bool)
    soft_max = np.zeros((h_up, w_up), np.float32)
    for face, affine in zip(restored, affines, strict=True):
        face_size = face.shape[0]
        inverse = cv2.invertAffineTransform(affine) * upscale
        if upscale > 1:
            inverse[:, 2] += 0.5 * (upscale - 1) if choices.centred_offset else 0.5 * upscale
        inv_restored = cv2.warpAffine(face, inverse, (w_up, h_up))
        inv_mask = cv2.warpAffine(np.ones((face_size, face_size), np.float32), inverse, (w_up, h_up))
        trim = int(2 * upscale)
        inv_mask_erosion = cv2.erode(inv_mask, np.ones((trim, trim), np.uint8))
        pasted = inv_mask_erosion[:, :, None] * inv_restored
        total_face_area = np.sum(inv_mask_erosion)
        w_edge = int(total_face_area**0.5) // 20
        erosion_radius = w_edge * 2
        inv_mask_center = cv2.erode(inv_mask_erosion, np.ones((erosion_radius, erosion_radius), np.uint8))
        blur_size = w_edge * 2
        soft = cv2.GaussianBlur(inv_mask_center, (blur_size + 1, blur_size + 1), 0)
        out = soft[:, :, None] * pasted + (1 - soft[:, :, None]) * out
        faces |= inv_mask_erosion > 0
        soft_max = np.maximum(soft_max, soft)
    # Officially truncated (and, unclipped, wrapped around); the app rounds to the nearest level.
    image = np.clip(np.rint(out), 0, 255).astype(np.uint8) if choices.round_result else out.astype(np.uint8)
    return Composition(image, faces, soft_max)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    """Peak signal-to-noise ratio in dB of two 8-bit images (over ``where`` if given); inf when equal."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    if where is not None:
        diff = diff[where]
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
