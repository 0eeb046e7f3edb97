/* SPDX-License-Identifier: MIT */
/*
 * MSI-X table, pending bits and capability (see msix.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw/pci/msix.h"

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FUNCTION_MASK 0x4000
#define MSIX_VECTOR_MASKED 1u

static uint16_t control(const struct msix *m)
{
	return (uint16_t)(m->dev->config[m->cap + 2] | m->dev->config[m->cap + 3] << 8);
}

void msix_init(struct msix *m, struct pci_device *dev, unsigned cap, unsigned next, unsigned nvec, unsigned bar,
	       uint32_t table_off, uint32_t pba_off)
{
	m->dev = dev;
	m->cap = cap;
	m->nvec = nvec;
	uint8_t *c = &dev->config[cap];
	uint16_t ctrl = (uint16_t)(nvec - 1);
	uint32_t table = table_off | bar, pba = pba_off | bar;
	c[0] = PCI_CAP_ID_MSIX;
	c[1] = (uint8_t)next;
	memcpy(&c[2], &ctrl, 2);
	memcpy(&c[4], &table, 4);
	memcpy(&c[8], &pba, 4);
	dev->wmask[cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK) >> 8;
	msix_reset(m);
}

void msix_reset(struct msix *m)
{
	memset(m->table, 0, sizeof(m->table));
	for (unsigned i = 0; i < m->nvec; i++)
		m->table[i][3] = MSIX_VECTOR_MASKED;
	m->pending = 0;
	m->dev->config[m->cap + 3] &= (uint8_t)~((MSIX_CTRL_ENABLE | MSIX_CTRL_FUNCTION_MASK) >> 8);
}

bool msix_enabled(const struct msix *m)
{
	return control(m) & MSIX_CTRL_ENABLE;
}

static bool masked(const struct msix *m, unsigned vector)
{
	return (control(m) & MSIX_CTRL_FUNCTION_MASK) || (m->table[vector][3] & MSIX_VECTOR_MASKED);
}

void msix_message(const struct msix *m, unsigned vector, uint64_t *addr, uint32_t *data)
{
	const uint32_t *e = m->table[vector];
	*addr = (uint64_t)e[1] << 32 | e[0];
	*data = e[2];
}

static void send(struct msix *m, unsigned vector)
{
	uint64_t addr;
	uint32_t data;
	msix_message(m, vector, &addr, &data);
	if (m->ops && m->ops->send && m->ops->send(m->ops_opaque, vector, addr, data))
		return;
	pci_msi_send(m->dev, addr, data);
}

void msix_set_ops(struct msix *m, const struct msix_ops *ops, void *opaque)
{
	m->ops = ops;
	m->ops_opaque = opaque;
}

bool msix_vector_live(const struct msix *m, unsigned vector)
{
	return vector < m->nvec && msix_enabled(m) && !masked(m, vector);
}

static void changed(struct msix *m)
{
	if (m->ops && m->ops->changed)
		m->ops->changed(m->ops_opaque);
}

void msix_notify(struct msix *m, unsigned vector)
{
	if (vector >= m->nvec || !msix_enabled(m))
		return;
	if (masked(m, vector))
		m->pending |= 1ULL << vector;
	else
		send(m, vector);
}

/* Sends every pending vector that is no longer masked. */
static void release_pending(struct msix *m)
{
	if (!msix_enabled(m))
		return;
	for (unsigned v = 0; v < m->nvec; v++) {
		if ((m->pending >> v & 1) && !masked(m, v)) {
			m->pending &= ~(1ULL << v);
			send(m, v);
		}
	}
}

uint64_t msix_table_read(struct msix *m, uint64_t offset, unsigned size)
{
	unsigned vector = (unsigned)(offset / MSIX_ENTRY_SIZE), word = (unsigned)(offset % MSIX_ENTRY_SIZE) / 4;
	if (vector >= m->nvec || (size != 4 && size != 8) || offset % size)
		return 0;
	uint64_t v = m->table[vector][word];
	if (size == 8)
		v |= (uint64_t)m->table[vector][word + 1] << 32;
	return v;
}

void msix_table_write(struct msix *m, uint64_t offset, uint64_t value, unsigned size)
{
	unsigned vector = (unsigned)(offset / MSIX_ENTRY_SIZE), word = (unsigned)(offset % MSIX_ENTRY_SIZE) / 4;
	if (vector >= m->nvec || (size != 4 && size != 8) || offset % size)
		return;
	m->table[vector][word] = (uint32_t)value;
	if (size == 8)
		m->table[vector][word + 1] = (uint32_t)(value >> 32);
	m->table[vector][3] &= MSIX_VECTOR_MASKED; /* the other control bits are reserved */
	changed(m);
	release_pending(m);
}

uint64_t msix_pba_read(const struct msix *m, uint64_t offset, unsigned size)
{
	if (offset >= 8 || offset % size)
		return 0;
	uint64_t v = m->pending >> (8 * offset);
	return size == 8 ? v : v & ((1ULL << (8 * size)) - 1);
}

void msix_config_written(struct msix *m)
{
	changed(m);
	release_pending(m);
}

void msix_save(const struct msix *m, uint32_t table[MSIX_MAX_VECTORS][4], uint64_t *pending)
{
	memcpy(table, m->table, sizeof(m->table));
	*pending = m->pending;
}

int msix_load(struct msix *m, const uint32_t table[MSIX_MAX_VECTORS][4], uint64_t pending, char *why,
	      size_t why_len)
{
	const char *bad = NULL;
	for (unsigned v = 0; v < MSIX_MAX_VECTORS && !bad; v++) {
		bool present = v < m->nvec;
		if (!present && ((table[v][0] | table[v][1] | table[v][2] | table[v][3]) || (pending >> v & 1)))
			bad = "a vector past the table";
		else if (present && (table[v][3] & ~MSIX_VECTOR_MASKED))
			bad = "reserved vector control bits";
		else if (present && (pending >> v & 1) && msix_enabled(m) &&
			 !(control(m) & MSIX_CTRL_FUNCTION_MASK) && !(table[v][3] & MSIX_VECTOR_MASKED))
			bad = "an unmasked vector pending";
	}
	if (bad) {
		snprintf(why, why_len, "pci %02x.%x: MSI-X state with %s", PCI_SLOT(m->dev->devfn),
			 PCI_FUNC(m->dev->devfn), bad);
		return -EINVAL;
	}
	memcpy(m->table, table, sizeof(m->table));
	m->pending = pending;
	return 0;
}
