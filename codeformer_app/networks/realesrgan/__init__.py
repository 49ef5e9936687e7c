"""Real-ESRGAN x2plus (basicsr's RRDBNet), the background upscaler: ``load.py`` recognises and builds it; the
tiled upscaling of a photo is ``pipeline/upscale.py``."""
