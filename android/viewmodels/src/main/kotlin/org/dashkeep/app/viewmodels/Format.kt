package org.dashkeep.app.viewmodels

import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.PairingErrorKind

/** The message an error dialog shows for a failed companion call. */
fun Throwable.userMessage(): String = when (this) {
    is CompanionException.Camera -> "Camera: $detail"
    is CompanionException.Storage -> "Storage: $detail"
    is CompanionException.Ingest -> "Streaming: $detail"
    is CompanionException.Catalog -> "Library: $detail"
    is CompanionException.DataDirBusy -> detail
    is CompanionException.Pairing -> when (val r = reason) {
        PairingErrorKind.WrongCode -> "Pairing: wrong code"
        is PairingErrorKind.BackingOff -> "Pairing: too many attempts; try again in ${(r.retryAfterMs.toLong() + 999) / 1000} s"
        else -> "Pairing: $detail"
    }
    is CompanionException.NotPaired -> "Pair the camera first"
    is CompanionException.SecretStore -> "Keystore: $detail"
    else -> message ?: toString()
}
