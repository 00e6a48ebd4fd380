/*
 * proof.h - the proof's byte encoding (layout in docs/PROTOCOL.md, "Proof
 * layout"). The decoded form, spw_proof, is declared in stark.h; this header
 * only gathers the codec entry points for readers looking for them.
 */
#ifndef SPW_PROOF_H
#define SPW_PROOF_H

#include "stark.h"

/* Size in bytes of the body (everything after the header) of a proof with
 * p's dimensions; 0 when the sizes overflow the limits. */
uint64_t spw_proof_body_size(const spw_proof *p);

#endif
