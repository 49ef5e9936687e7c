# Windows: build the app folder with PyInstaller, then the installer with Inno Setup 6 (iscc on the PATH).
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
python -m pip install --quiet "uv==0.13.9"
python -m uv sync --locked --group packaging
python -m uv run --locked --group packaging pyinstaller --noconfirm --clean `
    --distpath build\dist --workpath build\work packaging\codeformer-app.spec
$version = python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"
iscc "/DAppVersion=$version" packaging\windows\codeformer-app.iss
Write-Output (Resolve-Path "build\dist\codeformer-app\codeformer-app-gui.exe")
