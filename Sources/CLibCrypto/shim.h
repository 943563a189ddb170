// The system's OpenSSL libcrypto (SM2, SM3, SM4 and its GCM mode) — imported only by the LibCrypto wrapper.
// swift-crypto's BoringSSL has no SM algorithms; its symbols are prefixed, so the two never meet.
#pragma once
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/modes.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
