"""Black-and-white photos: deciding "grey" from the pixels, and giving grey photos grey faces.

A scanned print saved as RGB (most scans are) has three channels that differ by little more than noise; the
file's channel count cannot tell it from a colour photo, its pixels can. The test is the official one: the
mean over the three channel pairs of the variance of their difference is at most ``GREY_DIFFERENCE_VARIANCE``.

The network may add colour to a black-and-white face, so the restored face is turned grey (ITU-R 601 luma,
the official weights) and then given, channel by channel, the mean and contrast of the photo's own crop
(AdaIN), so that its brightness, contrast and tint match the print around it. The official code never
clips that result and its 8-bit conversion wraps the overshoot around; here it is clipped.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Largest mean variance of the channel differences (B-G, G-R, R-B) of a photo still taken as grey (official).
GREY_DIFFERENCE_VARIANCE = 10.0
#: Luma weights for red, green and blue (the official ones: ITU-R BT.601, rounded to four places).
LUMA_RGB = (0.2989, 0.5870, 0.1140)
#: Added to each channel's variance before its square root, as in the official AdaIN.
ADAIN_EPSILON = 1e-5
UINT8_MAX = 255


def looks_grey(image_bgr8: np.ndarray) -> bool:
    """True when the 8-bit BGR photo's channels differ only as much as a black-and-white photo's do."""
    if image_bgr8.ndim == 2 or image_bgr8.shape[2] == 1:
        return True
    b, g, r = cv2.split(np.ascontiguousarray(image_bgr8[:, :, :3]))
    # OpenCV: int16 differences, double-precision sums, no float copies (3.4x faster than numpy at 12 MP).
    variances = [
        cv2.meanStdDev(cv2.subtract(x, y, dtype=cv2.CV_16S))[1][0, 0] ** 2 for x, y in ((b, g), (g, r), (r, b))
    ]
    return bool(sum(variances) / 3.0 <= GREY_DIFFERENCE_VARIANCE)


def luma_bgr(image_bgr8: np.ndarray) -> np.ndarray:
    """The image's luma repeated in three channels, float64 (not rounded)."""
    red, green, blue = LUMA_RGB
    image = image_bgr8.astype(np.float64)
    luma = red * image[:, :, 2] + green * image[:, :, 1] + blue * image[:, :, 0]
    return np.repeat(luma[:, :, None], 3, axis=2)


def match_statistics(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """``content`` shifted and scaled, per channel, to the mean and standard deviation of ``style`` (AdaIN)."""
    channels = content.shape[2]
    content_flat = content.reshape(-1, channels)
    style_flat = style.reshape(-1, channels).astype(np.float64)
    content_mean, content_std = content_flat.mean(0), np.sqrt(content_flat.var(0) + ADAIN_EPSILON)
    style_mean, style_std = style_flat.mean(0), np.sqrt(style_flat.var(0) + ADAIN_EPSILON)
    return (content - content_mean) / content_std * style_std + style_mean


def grey_face(restored_bgr8: np.ndarray, input_crop_bgr8: np.ndarray) -> np.ndarray:
    """The restored crop made grey and matched to the input crop's statistics, 8-bit BGR (rounded, clipped)."""
    matched = match_statistics(luma_bgr(restored_bgr8), input_crop_bgr8)
    return np.clip(np.rint(matched), 0, UINT8_MAX).astype(np.uint8)
