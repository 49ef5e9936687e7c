"""One folder per network, each with the same small surface (``<name>/load.py``): ``ARCHITECTURE`` (a typed
``architecture.Architecture``: the keys that identify it, its hyperparameters read off the shapes, and its
builder) plus named builders for callers that know what they load.

- ``codeformer/``: the CodeFormer family (restoration, colorization, inpainting): our own network code;
- ``parsenet/``: the face parser behind the paste mask;
- ``realesrgan/``: the x2 background upscaler (basicsr's RRDBNet);
- ``retinaface/``: the official detector, ResNet-50 and MobileNet-0.25 (facexlib's definition);
- ``mtcnn/``: the offline detector's three stages (facenet-pytorch's definition and packaged weights).

Files are read by ``weights.safe_load``; using a network on a photo is the job of ``detection/`` and
``pipeline/``. The identity network is dlib's (not a PyTorch state dict) and lives in ``identity/``.
Nothing here imports PyTorch until a submodule is imported.
"""
