//go:build amd64 && !purego

#include "textflag.h"

// func kernel4x16(a *float32, lda int, b *float32, kb int, c *float32, ldc int, add bool)
//
// Computes the 4×16 tile T = A (4×kb, rows lda floats apart) · B (kb×16,
// packed: row p at b[16p:16p+16]) and stores C = T, or C += T when add is
// set (C's rows ldc floats apart). kb ≥ 1.
//
// Registers:
//	SI        &A[0, p]; row r is at SI + r·R8 (R9 = 3·R8)
//	R8, R9    lda·4 and 3·lda·4 (bytes)
//	DX        &B[p, 0], 64 bytes per step of p
//	CX        steps of p left
//	DI        &C[0, 0]; row r at DI + r·R10 (R11 = 3·R10)
//	Y0..Y7    accumulators: row r of T in Y(2r) (columns 0–7), Y(2r+1) (8–15)
//	Y8, Y9    B[p, 0:8], B[p, 8:16]
//	Y10..Y13  A[r, p] broadcast, r = 0..3
//
// Each lane of T is a chain of FMAs (one rounding each) in increasing p,
// from zero: its value depends only on its row of A and column of B.
TEXT ·kernel4x16(SB), NOSPLIT, $0-49
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ b+16(FP), DX
	MOVQ kb+24(FP), CX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), R10
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VMOVUPS      (DX), Y8
	VMOVUPS      32(DX), Y9
	VBROADCASTSS (SI), Y10
	VBROADCASTSS (SI)(R8*1), Y11
	VBROADCASTSS (SI)(R8*2), Y12
	VBROADCASTSS (SI)(R9*1), Y13
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         CX
	JNZ          loop

	MOVBQZX add+48(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VADDPS  (DI)(R10*1), Y2, Y2
	VADDPS  32(DI)(R10*1), Y3, Y3
	VADDPS  (DI)(R10*2), Y4, Y4
	VADDPS  32(DI)(R10*2), Y5, Y5
	VADDPS  (DI)(R11*1), Y6, Y6
	VADDPS  32(DI)(R11*1), Y7, Y7

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, (DI)(R10*1)
	VMOVUPS Y3, 32(DI)(R10*1)
	VMOVUPS Y4, (DI)(R10*2)
	VMOVUPS Y5, 32(DI)(R10*2)
	VMOVUPS Y6, (DI)(R11*1)
	VMOVUPS Y7, 32(DI)(R11*1)
	VZEROUPPER
	RET

// func copyStrip(dst *float32, b *float32, ldb int, kb int)
//
// Copies kb rows of 16 floats, ldb floats apart in b, to dst, 16 apart:
// packStrip's common case, B's rows contiguous. kb ≥ 1.
TEXT ·copyStrip(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ b+8(FP), SI
	MOVQ ldb+16(FP), R8
	MOVQ kb+24(FP), CX
	SHLQ $2, R8

copy:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     copy
	VZEROUPPER
	RET
