// libvips, loaded at run time (dlopen): Hoist builds on a machine without libvips or its headers,
// and uses the library in process when it is installed (Debian's libvips42), the `vips` command
// line otherwise. Only the calls the image worker needs, each returning a libvips image handle
// (an opaque pointer) or an error text the caller frees with `hoist_vips_free`.
#ifndef HOIST_CVIPS_H
#define HOIST_CVIPS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Loads and starts libvips from `library` (a file name such as "libvips.so.42", searched as dlopen
/// does). 0 when ready; -1 with `*error` set otherwise. Safe to call again: the first result stays.
/// The operation cache is turned off (each input is a new file) and `threads` sets libvips' own
/// worker threads per image (0: libvips' default, the number of cores).
int hoist_vips_load(const char *library, int threads, char **error);

/// The version of the loaded libvips ("8.14.1"), or NULL before a successful load.
const char *hoist_vips_version(void);

/// Decodes the file at `path`, shrinks it to fit `width`×`height` (never enlarging), turns it
/// upright by its EXIF orientation, converts it to sRGB when `to_srgb` (from its embedded profile)
/// and renders it into memory. `fail_on_error`: a decode error (a truncated or corrupt file) fails
/// instead of giving grey pixels. The decode stops with an error after `seconds` (0: no limit).
/// NULL with `*error` set on failure.
void *hoist_vips_thumbnail_file(const char *path, int width, int height, int fail_on_error, int to_srgb,
                                double seconds, char **error);

/// Shrinks an image made by this library (upright already) to fit `width`×`height`, never enlarging,
/// rendered into memory. NULL with `*error` set on failure.
void *hoist_vips_thumbnail_image(void *image, int width, int height, char **error);

/// Writes `image` to `path_with_options` ("out.webp[Q=82,strip]"), the saver chosen by the extension.
/// 0, or -1 with `*error` set.
int hoist_vips_save(void *image, const char *path_with_options, char **error);

/// Decodes the whole file at `path` (its average pixel value): 0 when it decodes, -1 with `*error`.
int hoist_vips_decodes(const char *path, char **error);

int hoist_vips_width(void *image);
int hoist_vips_height(void *image);

/// Releases an image handle.
void hoist_vips_release(void *image);

/// Frees an error text.
void hoist_vips_free(char *text);

#ifdef __cplusplus
}
#endif

#endif
