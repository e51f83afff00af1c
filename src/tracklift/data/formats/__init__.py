"""Dataset layouts: each module lists a layout's frame records; `tracklift.data.scene` picks the layout."""
