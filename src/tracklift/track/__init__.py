"""The online visual-spatial tracker: association costs, track life, merging, instances from tracks."""

from tracklift.track.config import TrackerConfig
from tracklift.track.output import build_instances
from tracklift.track.tracker import Tracker

__all__ = ["Tracker", "TrackerConfig", "build_instances"]
