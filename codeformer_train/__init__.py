"""Training recipe for CodeFormer's three stages (optional; the app never imports this package).

Stage I learns the VQGAN codebook on clean faces, stage II learns to predict code indices from degraded faces
with the VQGAN frozen, stage III learns the controllable feature transform. Each stage writes resumable
checkpoints and exports its EMA weights as safetensors; stage II and III exports load directly in the app.
"""
