package org.dashkeep.app.viewmodels

import org.dashkeep.ffi.CompanionException

/** The message an error dialog shows for a failed companion call. */
fun Throwable.userMessage(): String = when (this) {
    is CompanionException.Camera -> "Camera: $detail"
    is CompanionException.Storage -> "Storage: $detail"
    is CompanionException.Ingest -> "Streaming: $detail"
    is CompanionException.Catalog -> "Library: $detail"
    is CompanionException.DataDirBusy -> detail
    else -> message ?: toString()
}
