from .entries import LibraryEntry as LibraryEntry
from .entries import MediaTitle as MediaTitle
from .sync import LibraryConflict as LibraryConflict
from .sync import LibraryPush as LibraryPush
from .sync import ListSyncSettings as ListSyncSettings
