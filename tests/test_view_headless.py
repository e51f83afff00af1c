"""Pixel counters of the browser test and the viewer benchmark, on hand-made images."""

import numpy as np

from tracklift.view.headless import colour_pixels, hue_pixels


def image() -> np.ndarray:
    img = np.full((4, 5, 3), 255, np.uint8)
    img[0, :3] = (255, 0, 255)  # magenta
    img[1, :2] = (128, 0, 128)  # shaded magenta: same hue, darker
    img[2, 0] = (250, 5, 250)  # nearly magenta
    img[3, :4] = (230, 50, 212)  # a nearby instance colour: 3 hue units away
    return img


def test_colour_pixels_counts_within_the_tolerance():
    assert colour_pixels(image(), (255, 0, 255), tolerance=0) == 3
    assert colour_pixels(image(), (255, 0, 255), tolerance=5) == 4
    assert colour_pixels(image(), (255, 255, 255)) == 20 - 3 - 2 - 1 - 4


def test_hue_pixels_ignores_shading_and_separates_near_hues():
    assert hue_pixels(image(), (255, 0, 255), hue_tolerance=0) == 3 + 2 + 1
    assert hue_pixels(image(), (255, 0, 255), hue_tolerance=2) == 6
    assert hue_pixels(image(), (255, 0, 255), hue_tolerance=3) == 10
    assert hue_pixels(image(), (255, 0, 255), min_saturation=256) == 0
