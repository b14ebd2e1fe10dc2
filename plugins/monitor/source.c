/* source.c - what the sources measured at one look. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "source.h"

void sw_mon_look_data_init(sw_mon_look_data *d, size_t n)
{
    memset(d, 0, sizeof *d);
    d->n = n;
    d->cand = sw_xcalloc(n ? n : 1, sizeof *d->cand);
    d->base = sw_xcalloc(n ? n : 1, sizeof *d->base);
    d->owned = sw_xcalloc(2 * (n ? n : 1), sizeof *d->owned);
    d->note = sw_xcalloc(n ? n : 1, sizeof *d->note);
    for (size_t i = 0; i < n; i++)
        d->cand[i] = d->base[i] = (sw_obs){.value = NAN, .x = NAN};
    d->cand_flat = json_object();
    d->base_flat = json_object();
}

void sw_mon_look_data_free(sw_mon_look_data *d)
{
    for (size_t i = 0; i < 2 * d->n; i++)
        free(d->owned[i]);
    free(d->owned);
    for (size_t i = 0; i < d->n; i++)
        free(d->note[i]);
    free(d->note);
    free(d->cand);
    free(d->base);
    json_decref(d->cand_flat);
    json_decref(d->base_flat);
    memset(d, 0, sizeof *d);
}
