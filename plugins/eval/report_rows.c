/* report_rows.c - finished samples read back by offset, folded per case. */
#include "report_rows.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fsutil.h"

struct ev_rows {
    const ev_config *cfg;
    const ev_results *res;
    int fd[2];
};

ev_rows *ev_rows_open(const ev_config *cfg, const ev_results *res)
{
    ev_rows *r = sw_xcalloc(1, sizeof *r);
    r->cfg = cfg;
    r->res = res;
    for (int s = 0; s < 2; s++)
        r->fd[s] = s < res->sides ? open(cfg->out_path[s], O_RDONLY | O_CLOEXEC) : -1;
    return r;
}

void ev_rows_close(ev_rows *r)
{
    if (!r)
        return;
    for (int s = 0; s < 2; s++)
        if (r->fd[s] >= 0)
            close(r->fd[s]);
    free(r);
}

json_t *ev_rows_get(ev_rows *r, int side, size_t c, int sample)
{
    const ev_trial *t = ev_trial_at(r->res, side, c, sample);
    if (!t->done || r->fd[side] < 0)
        return NULL;
    char *buf = sw_xmalloc(t->row_len + 1);
    ssize_t n = pread(r->fd[side], buf, t->row_len, (off_t)t->row_off);
    json_t *j = n == (ssize_t)t->row_len ? json_loadb(buf, t->row_len, 0, NULL) : NULL;
    free(buf);
    return j;
}

char *ev_rows_case_id(ev_rows *r, size_t c)
{
    for (int side = 0; side < r->res->sides; side++)
        for (int k = 0; k < r->res->k; k++) {
            json_t *row = ev_rows_get(r, side, c, k);
            const char *id = json_string_value(json_object_get(row, "case"));
            if (id) {
                char *out = sw_xstrdup(id);
                json_decref(row);
                return out;
            }
            json_decref(row);
        }
    sw_err err;
    ev_case *ec = ev_dataset_case(r->cfg->ds, c, &err);
    char *id = sw_xstrdup(ec ? ec->id : "?");
    ev_case_unref(ec);
    return id;
}

void ev_rows_case(ev_rows *r, int side, size_t c, ev_case_rows *out)
{
    memset(out, 0, sizeof *out);
    out->done = ev_case_result(r->res, side, c, &out->outcome, &out->score);
    sw_buf msgs = {0};
    int n = 0;
    for (int k = 0; k < r->res->k; k++) {
        json_t *row = ev_rows_get(r, side, c, k);
        if (!row)
            continue;
        n++;
        if (!out->id)
            out->id = sw_xstrdup(json_string_value(json_object_get(row, "case")));
        if (!out->output)
            out->output = sw_xstrdup(json_string_value(json_object_get(row, "output")));
        out->latency_ms += json_number_value(json_object_get(row, "latency_ms"));
        out->cost_usd += json_number_value(json_object_get(row, "cost_usd"));
        const char *prefix = r->res->k > 1 ? "sample " : "";
        const char *error = json_string_value(json_object_get(row, "error"));
        if (error) {
            if (r->res->k > 1)
                sw_buf_printf(&msgs, "%s%d: ", prefix, k);
            sw_buf_printf(&msgs, "error: %s\n", error);
            if (!out->first_message)
                out->first_message = sw_xstrdup(error);
        }
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(row, "assertions"), i, a)
        {
            const char *o = json_string_value(json_object_get(a, "outcome"));
            if (!o || strcmp(o, "PASS") == 0)
                continue;
            const char *type = json_string_value(json_object_get(a, "type"));
            const char *m = json_string_value(json_object_get(a, "message"));
            if (r->res->k > 1)
                sw_buf_printf(&msgs, "%s%d: ", prefix, k);
            sw_buf_printf(&msgs, "%s %s: %s\n", type ? type : "?", o, m ? m : "");
            if (!out->first_message)
                out->first_message = sw_xasprintf("%s: %s", type ? type : "?", m ? m : "");
        }
        json_decref(row);
    }
    if (n)
        out->latency_ms /= n;
    if (!out->id)
        out->id = ev_rows_case_id(r, c);
    if (!out->output)
        out->output = sw_xstrdup("");
    if (!out->first_message)
        out->first_message =
            sw_xstrdup(out->done && out->outcome == EV_FAIL ? "below the case threshold" : "");
    out->messages = sw_buf_steal(&msgs);
}

void ev_case_rows_clear(ev_case_rows *cr)
{
    free(cr->id);
    free(cr->output);
    free(cr->first_message);
    free(cr->messages);
    memset(cr, 0, sizeof *cr);
}

int ev_sink_open(ev_sink *s, const char *path, sw_err *err)
{
    memset(s, 0, sizeof *s);
    s->path = sw_xstrdup(path);
    s->tmp = sw_xasprintf("%s.tmp.%ld", path, (long)getpid());
    s->f = fopen(s->tmp, "wb");
    if (!s->f) {
        sw_err_errno(err, "cannot write %s", s->tmp);
        free(s->path);
        free(s->tmp);
        return -1;
    }
    return 0;
}

static void write_out(ev_sink *s)
{
    if (s->b.len && !s->failed && fwrite(s->b.data, 1, s->b.len, s->f) != s->b.len)
        s->failed = errno ? errno : EIO;
    s->b.len = 0;
}

void ev_sink_spill(ev_sink *s)
{
    if (s->b.len >= 64 * 1024)
        write_out(s);
}

int ev_sink_close(ev_sink *s, sw_err *err)
{
    write_out(s);
    if (!s->failed && (fflush(s->f) != 0 || fsync(fileno(s->f)) != 0))
        s->failed = errno ? errno : EIO;
    if (fclose(s->f) != 0 && !s->failed)
        s->failed = errno ? errno : EIO;
    int rc = 0;
    if (!s->failed && rename(s->tmp, s->path) != 0)
        s->failed = errno ? errno : EIO;
    if (s->failed) {
        errno = s->failed;
        rc = sw_err_errno(err, "writing %s", s->path);
        unlink(s->tmp);
    } else {
        char *dir = sw_path_dirname(s->path);
        sw_fsync_dir(dir, err);
        free(dir);
    }
    sw_buf_free(&s->b);
    free(s->path);
    free(s->tmp);
    return rc;
}
