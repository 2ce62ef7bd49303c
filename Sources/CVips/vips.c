// libvips through dlopen: the prototypes below are libvips' and GLib's public C API (libvips 8.12
// or later), declared here so that no header is needed at build time.
#define _GNU_SOURCE
#include "CVips.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct VipsImageOpaque VipsImage;
typedef size_t GType;
typedef struct {
    int value;
    const char *value_name;
    const char *value_nick;
} GEnumValue;

static struct {
    int (*init)(const char *argv0);
    const char *(*version_string)(void);
    void (*concurrency_set)(int);
    void (*cache_set_max)(int);
    int (*thumbnail)(const char *filename, VipsImage **out, int width, ...);
    int (*thumbnail_image)(VipsImage *in, VipsImage **out, int width, ...);
    VipsImage *(*copy_memory)(VipsImage *image);
    int (*write_to_file)(VipsImage *image, const char *name, ...);
    int (*copy)(VipsImage *in, VipsImage **out, ...);
    int (*image_remove)(VipsImage *image, const char *name);
    VipsImage *(*new_from_file)(const char *name, ...);
    int (*avg)(VipsImage *in, double *out, ...);
    int (*get_width)(const VipsImage *image);
    int (*get_height)(const VipsImage *image);
    void (*set_progress)(VipsImage *image, int progress);
    void (*set_kill)(VipsImage *image, int kill);
    const char *(*error_buffer)(void);
    void (*error_clear)(void);
    GType (*size_get_type)(void);
    GType (*fail_on_get_type)(void);
    void *(*type_class_ref)(GType type);
    GEnumValue *(*enum_get_value_by_nick)(void *enum_class, const char *nick);
    unsigned long (*signal_connect_data)(void *instance, const char *signal, void (*handler)(void), void *data,
                                         void (*destroy)(void *, void *), int flags);
    void (*object_unref)(void *object);
    unsigned (*log_set_handler)(const char *domain, int levels, void (*handler)(const char *, int, const char *, void *),
                                void *data);
} vips;

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int load_state = 0; // 0: not tried, 1: ready, -1: failed
static char *load_error = NULL;
static int size_down = -1;
static int fail_on_error_value = -1;

static char *copy_text(const char *text) {
    char *copy = strdup(text ? text : "");
    return copy;
}

/// libvips' error buffer (shared by every thread), copied and cleared.
static char *take_error(const char *fallback) {
    pthread_mutex_lock(&state_lock);
    const char *buffer = vips.error_buffer ? vips.error_buffer() : NULL;
    char *text = copy_text(buffer && buffer[0] ? buffer : fallback);
    if (vips.error_clear) vips.error_clear();
    pthread_mutex_unlock(&state_lock);
    return text;
}

static int enum_value(GType type, const char *nick) {
    void *enum_class = vips.type_class_ref(type);
    if (!enum_class) return -1;
    GEnumValue *value = vips.enum_get_value_by_nick(enum_class, nick);
    return value ? value->value : -1;
}

static void drop_message(const char *domain, int level, const char *message, void *data) {
    (void)domain; (void)level; (void)message; (void)data;
}

#define LOAD(field, name)                                                       \
    do {                                                                        \
        *(void **)(&vips.field) = dlsym(handle, name);                          \
        if (!vips.field) {                                                      \
            snprintf(message, sizeof message, "%s has no %s", library, name);   \
            goto failed;                                                        \
        }                                                                       \
    } while (0)

int hoist_vips_load(const char *library, int threads, char **error) {
    char message[512];
    pthread_mutex_lock(&state_lock);
    if (load_state != 0) {
        int state = load_state;
        if (state < 0 && error) *error = copy_text(load_error);
        pthread_mutex_unlock(&state_lock);
        return state > 0 ? 0 : -1;
    }
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *reason = dlerror();
        snprintf(message, sizeof message, "%s", reason ? reason : "dlopen failed");
        goto failed;
    }
    LOAD(init, "vips_init");
    LOAD(version_string, "vips_version_string");
    LOAD(concurrency_set, "vips_concurrency_set");
    LOAD(cache_set_max, "vips_cache_set_max");
    LOAD(thumbnail, "vips_thumbnail");
    LOAD(thumbnail_image, "vips_thumbnail_image");
    LOAD(copy_memory, "vips_image_copy_memory");
    LOAD(write_to_file, "vips_image_write_to_file");
    LOAD(copy, "vips_copy");
    LOAD(image_remove, "vips_image_remove");
    LOAD(new_from_file, "vips_image_new_from_file");
    LOAD(avg, "vips_avg");
    LOAD(get_width, "vips_image_get_width");
    LOAD(get_height, "vips_image_get_height");
    LOAD(set_progress, "vips_image_set_progress");
    LOAD(set_kill, "vips_image_set_kill");
    LOAD(error_buffer, "vips_error_buffer");
    LOAD(error_clear, "vips_error_clear");
    LOAD(size_get_type, "vips_size_get_type");
    LOAD(fail_on_get_type, "vips_fail_on_get_type");
    LOAD(type_class_ref, "g_type_class_ref");
    LOAD(enum_get_value_by_nick, "g_enum_get_value_by_nick");
    LOAD(signal_connect_data, "g_signal_connect_data");
    LOAD(object_unref, "g_object_unref");
    LOAD(log_set_handler, "g_log_set_handler");
    if (vips.init("hoist") != 0) {
        snprintf(message, sizeof message, "vips_init failed: %s", vips.error_buffer());
        vips.error_clear();
        goto failed;
    }
    size_down = enum_value(vips.size_get_type(), "down");
    fail_on_error_value = enum_value(vips.fail_on_get_type(), "error");
    if (size_down < 0 || fail_on_error_value < 0) {
        snprintf(message, sizeof message, "%s does not know VipsSize \"down\" or VipsFailOn \"error\"", library);
        goto failed;
    }
    // libvips' warnings about an input ("IHDR: CRC error") would go to standard error, between the
    // service's log lines; what matters reaches the caller as the error of a failed call.
    vips.log_set_handler("VIPS", 1 << 4 /* G_LOG_LEVEL_WARNING */, drop_message, NULL);
    // Every input is a new file: cached operations would only hold memory.
    vips.cache_set_max(0);
    if (threads > 0) vips.concurrency_set(threads);
    load_state = 1;
    pthread_mutex_unlock(&state_lock);
    return 0;

failed:
    memset(&vips, 0, sizeof vips);
    load_state = -1;
    load_error = copy_text(message);
    if (error) *error = copy_text(message);
    pthread_mutex_unlock(&state_lock);
    return -1;
}

const char *hoist_vips_version(void) {
    return load_state == 1 ? vips.version_string() : NULL;
}

static double now_seconds(void) {
    struct timespec clock;
    clock_gettime(CLOCK_MONOTONIC, &clock);
    return (double)clock.tv_sec + (double)clock.tv_nsec / 1e9;
}

/// Called by libvips as the image computes ("eval"): past the deadline, the computation is stopped.
static void on_eval(VipsImage *image, void *progress, void *deadline) {
    (void)progress;
    if (now_seconds() > *(double *)deadline) vips.set_kill(image, 1);
}

/// Renders a lazily computed image into memory, releasing it; `deadline` (or NULL) bounds the time.
static void *render(VipsImage *lazy, double *deadline, char **error) {
    if (deadline) {
        vips.set_progress(lazy, 1);
        vips.signal_connect_data(lazy, "eval", (void (*)(void))on_eval, deadline, NULL, 0);
    }
    VipsImage *memory = vips.copy_memory(lazy);
    vips.object_unref(lazy);
    if (!memory) {
        *error = take_error("libvips could not compute the image");
        return NULL;
    }
    return memory;
}

void *hoist_vips_thumbnail_file(const char *path, int width, int height, int fail_on_error, int to_srgb,
                                double seconds, char **error) {
    if (load_state != 1) {
        *error = copy_text("libvips is not loaded");
        return NULL;
    }
    VipsImage *lazy = NULL;
    int status;
    if (fail_on_error && to_srgb)
        status = vips.thumbnail(path, &lazy, width, "height", height, "size", size_down, "fail_on", fail_on_error_value,
                                "export_profile", "srgb", NULL);
    else if (fail_on_error)
        status = vips.thumbnail(path, &lazy, width, "height", height, "size", size_down, "fail_on", fail_on_error_value, NULL);
    else if (to_srgb)
        status = vips.thumbnail(path, &lazy, width, "height", height, "size", size_down, "export_profile", "srgb", NULL);
    else
        status = vips.thumbnail(path, &lazy, width, "height", height, "size", size_down, NULL);
    if (status != 0 || !lazy) {
        *error = take_error("libvips could not read the image");
        return NULL;
    }
    double deadline = now_seconds() + seconds;
    return render(lazy, seconds > 0 ? &deadline : NULL, error);
}

void *hoist_vips_thumbnail_image(void *image, int width, int height, char **error) {
    VipsImage *lazy = NULL;
    if (vips.thumbnail_image((VipsImage *)image, &lazy, width, "height", height, "size", size_down, "no_rotate", 1, NULL) != 0
        || !lazy) {
        *error = take_error("libvips could not resize the image");
        return NULL;
    }
    return render(lazy, NULL, error);
}

int hoist_vips_save(void *image, const char *path_with_options, char **error) {
    // Each save gets a private copy (its own metadata table) without the original's EXIF, XMP and
    // IPTC: a saver updates the EXIF block of the image it writes, and on the shared image that left
    // a pointer to a block freed when the saver finished, read by the next save of the same image
    // (AddressSanitizer: heap-use-after-free in vips__exif_update, with an input that had EXIF).
    VipsImage *copy = NULL;
    if (vips.copy((VipsImage *)image, &copy, NULL) != 0 || !copy) {
        *error = take_error("libvips could not copy the image");
        return -1;
    }
    vips.image_remove(copy, "exif-data");
    vips.image_remove(copy, "xmp-data");
    vips.image_remove(copy, "iptc-data");
    int status = vips.write_to_file(copy, path_with_options, NULL);
    vips.object_unref(copy);
    if (status != 0) {
        *error = take_error("libvips could not write the image");
        return -1;
    }
    return 0;
}

int hoist_vips_decodes(const char *path, char **error) {
    if (load_state != 1) {
        *error = copy_text("libvips is not loaded");
        return -1;
    }
    VipsImage *image = vips.new_from_file(path, NULL);
    if (!image) {
        *error = take_error("libvips could not read the image");
        return -1;
    }
    double average = 0;
    int status = vips.avg(image, &average, NULL);
    vips.object_unref(image);
    if (status != 0) {
        *error = take_error("libvips could not decode the image");
        return -1;
    }
    return 0;
}

int hoist_vips_width(void *image) { return vips.get_width((VipsImage *)image); }
int hoist_vips_height(void *image) { return vips.get_height((VipsImage *)image); }
void hoist_vips_release(void *image) { if (image) vips.object_unref(image); }
void hoist_vips_free(char *text) { free(text); }
