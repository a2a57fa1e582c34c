"""The demo draws every name and text in a font that has its letters: no empty boxes (.notdef) in screenshots."""

from datetime import UTC, datetime
from io import BytesIO

import pytest
from PIL import Image, ImageDraw, ImageFont

from reportkit.services.demo import _screenshot, draws_all, font_for

NAME = "کاوه نادرشاهی"


def test_the_font_chosen_for_a_persian_name_has_its_glyphs():
    font = font_for(NAME, 38, bold=True)
    assert "Arabic" in font.getname()[0] and draws_all(font, NAME)
    assert draws_all(font_for("שלום חברים", 30), "שלום חברים") and draws_all(font_for("Kaveh", 30), "Kaveh")
    latin_only = ImageFont.truetype("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf", 38)
    assert not draws_all(latin_only, NAME)  # the check fails where the old drawing failed (Latin font, Persian name)


def test_a_drawn_persian_name_is_not_a_row_of_boxes():
    class Account:
        display_name, handle = NAME, "nadershahi_fa"

    shot = Image.open(BytesIO(_screenshot(Account, "An English post by a Persian-named account.", "en",
                                          datetime(2024, 1, 8, tzinfo=UTC)))).convert("L")
    name_area = shot.crop((185, 60, 700, 125))
    as_boxes = Image.new("L", shot.size, 255)  # the old drawing: the name in a font without Arabic letters
    latin_only = ImageFont.truetype("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf", 38)
    ImageDraw.Draw(as_boxes).text((185, 70), NAME, font=latin_only, fill=0, direction="rtl")
    assert sum(name_area.point(lambda v: 1 if v < 128 else 0).histogram()[1:]) > 300  # ink where the name is
    assert name_area.tobytes() != as_boxes.crop((185, 60, 700, 125)).tobytes()


def test_a_missing_font_is_said_not_drawn_as_boxes():
    from reportkit.services.demo import MissingFont, font_file

    assert font_file("No Such Family Sans") is None  # fontconfig's stand-in for another family is not taken
    assert font_file("Noto Sans Arabic", bold=True).name == "NotoSansArabic-Bold.ttf"
    with pytest.raises(MissingFont, match="fonts-noto-core"):
        font_for("สวัสดีครับ", 30)  # Thai: neither Noto Sans nor DejaVu Sans has it: refused, not drawn as boxes
