"""Spotify Web API endpoints used here (paths relative to the API base)."""

# https://developer.spotify.com/documentation/web-api/reference/get-users-top-artists-and-tracks
TOP_ARTISTS = "me/top/artists"
# https://developer.spotify.com/documentation/web-api/reference/get-users-saved-tracks
SAVED_TRACKS = "me/tracks"
# https://developer.spotify.com/documentation/web-api/reference/get-current-users-profile
ME = "me"
