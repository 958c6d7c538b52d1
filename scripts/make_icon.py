"""Draw the integration's icon: brand/icon.png (256 px) and brand/icon@2x.png.

    .venv/bin/python scripts/make_icon.py

A teal rounded square with a white lightning bolt branching into three, for one
supply shared between several chargers. Drawn at 4x and scaled down (anti-aliased).
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "custom_components/ev_power_share/brand"
TEAL = (0, 121, 107, 255)
LIGHT = (178, 223, 219, 255)
WHITE = (255, 255, 255, 255)


def draw(size: int) -> Image.Image:
    """The icon at ``size`` pixels."""
    s = size * 4
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s // 5, fill=TEAL)

    def p(x: float, y: float) -> tuple[float, float]:
        return (x * s, y * s)

    # The bolt: supply coming down from the top.
    d.polygon(
        [
            p(0.63, 0.10),
            p(0.37, 0.50),
            p(0.54, 0.50),
            p(0.47, 0.70),
            p(0.73, 0.36),
            p(0.57, 0.36),
            p(0.67, 0.10),
        ],
        fill=WHITE,
    )
    # Three feeders fanning out to three chargers.
    width = int(0.045 * s)
    start = p(0.50, 0.69)
    for end in (p(0.24, 0.84), p(0.50, 0.86), p(0.76, 0.84)):
        d.line([start, end], fill=LIGHT, width=width)
    r = 0.055 * s
    for cx, cy in (p(0.24, 0.84), p(0.50, 0.86), p(0.76, 0.84)):
        d.rounded_rectangle((cx - r, cy - r, cx + r, cy + r), radius=r / 3, fill=WHITE)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    """Write both sizes."""
    OUT.mkdir(parents=True, exist_ok=True)
    draw(256).save(OUT / "icon.png", optimize=True)
    draw(512).save(OUT / "icon@2x.png", optimize=True)
    print(f"wrote {OUT / 'icon.png'} and icon@2x.png")


if __name__ == "__main__":
    main()
