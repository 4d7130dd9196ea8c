package org.dashkeep.app.viewmodels

import org.dashkeep.ffi.CameraErrorKind
import org.dashkeep.ffi.CatalogErrorKind
import org.dashkeep.ffi.ClipErrorKind
import org.dashkeep.ffi.CloudErrorKind
import org.dashkeep.ffi.CompanionException
import org.dashkeep.ffi.IngestErrorKind
import org.dashkeep.ffi.PairingErrorKind
import org.dashkeep.ffi.StorageErrorKind

/**
 * The message a screen shows for a failed companion call: what went wrong in a person's words and
 * what to do next, from the error's typed reason (never a stack trace). The core's own `detail`
 * is kept only where it names something the user can act on.
 */
fun Throwable.userMessage(): String = when (this) {
    is CompanionException.Camera -> "Camera: " + when (val r = reason) {
        is CameraErrorKind.BadUrl -> "\"${r.url}\" is not a camera address."
        CameraErrorKind.Unreachable -> "the camera does not answer. Check that it is on and the phone is on its WiFi."
        is CameraErrorKind.Status -> "the camera refused (${r.status}). Try again; if it persists, restart the camera."
        CameraErrorKind.Protocol -> "the camera answered something unexpected. Update its firmware."
        CameraErrorKind.WrongKey -> "this is not your camera (its key changed). Pair it again."
        is CameraErrorKind.NotHttps -> "a paired camera must be reached over HTTPS. Pair it again."
        CameraErrorKind.Tls -> "the secure link to the camera failed. Try again."
        is CameraErrorKind.UnsupportedVersion -> "its firmware (v${r.cameraVersion}) is not supported. Update the app or the camera."
    }
    is CompanionException.Storage -> "Storage: " + when (val r = reason) {
        is StorageErrorKind.VolumeFull -> "the phone is full. Free some space or lower the quota."
        is StorageErrorKind.QuotaExceeded -> "Dashkeep's share of the phone is full (${bytes(r.ownedBytes.toLong())} of ${bytes(r.limitBytes.toLong())}). Raise the quota in Settings."
        is StorageErrorKind.PhoneNearlyFull -> "the phone itself is nearly full (${bytes(r.availableBytes.toLong())} free). Free some space on the phone."
        StorageErrorKind.OlderThanKept -> "this video is older than everything kept, so it was not stored."
        is StorageErrorKind.QuotaOutOfRange -> "choose between ${percent(r.min)} and ${percent(r.max)} of the phone's storage."
        is StorageErrorKind.Io -> "the phone could not read or write a file. Restart the app."
        else -> detail
    }
    is CompanionException.Ingest -> "Streaming: " + when (reason) {
        IngestErrorKind.ListingRefused -> "the camera would not list its videos. Try again."
        is IngestErrorKind.ChecksumMismatch, is IngestErrorKind.SizeMismatch -> "a video arrived damaged and will be fetched again."
        is IngestErrorKind.BadTelemetry -> "a video's GPS data is unreadable; the video is kept."
        IngestErrorKind.Cancelled -> "stopped."
        else -> detail
    }
    is CompanionException.Catalog -> "Library: " + when (val r = reason) {
        is CatalogErrorKind.NotFound -> "this ${r.what} is gone (it may have been deleted). Go back and refresh."
        else -> "the video library could not be read. Restart the app."
    }
    is CompanionException.Clip -> "Clip: " + when (reason) {
        ClipErrorKind.BAD_WINDOW -> "choose a range inside the drive, at least a second long."
        ClipErrorKind.CUT -> "the clip could not be cut from the videos on the phone."
        else -> detail
    }
    is CompanionException.Cloud -> "Cloud: " + when (val r = reason) {
        CloudErrorKind.NotConfigured -> "no cloud account is set up. Add one in Settings."
        CloudErrorKind.CredentialsRefused -> "the cloud refused the sign-in. Sign in again in Settings."
        CloudErrorKind.NetworkForbidden -> "waiting for WiFi (your upload setting). Allow cellular in Settings to send it now."
        CloudErrorKind.Transient -> "the cloud did not answer. It will retry by itself."
        is CloudErrorKind.UnknownClip -> "this clip is not uploaded yet. Share it once it is in the cloud."
        CloudErrorKind.UploadGone -> "the upload expired; it starts again."
        else -> detail
    }
    is CompanionException.DataDirBusy -> "Dashkeep is already open in another process. Close it and try again."
    is CompanionException.Pairing -> when (val r = reason) {
        PairingErrorKind.WrongCode -> "Pairing: wrong code. Check the code on the camera's screen."
        is PairingErrorKind.BackingOff -> "Pairing: too many attempts; try again in ${seconds(r.retryAfterMs.toLong())} s."
        PairingErrorKind.BleLink -> "Pairing: cannot reach the camera over Bluetooth. Turn Bluetooth on and come closer."
        PairingErrorKind.BadCode -> "Pairing: the code is the 8 digits on the camera's screen."
        PairingErrorKind.NotPairing -> "Pairing: the camera is not in pairing mode. Hold its pairing button."
        PairingErrorKind.Refused -> "Pairing: the camera refused. Start pairing again on the camera."
        else -> "Pairing: $detail"
    }
    is CompanionException.NotPaired -> "Pair the camera first (Settings → Pair a camera)."
    is CompanionException.NotRecording -> "The camera is not recording a drive right now."
    is CompanionException.SecretStore -> "The phone's keystore failed. Restart the app."
    is CompanionException.NotConfirmed -> "Confirm first: this setting removes videos from the camera."
    is CompanionException -> message ?: "Something went wrong. Try again."
    else -> "Something went wrong (${this::class.simpleName}). Try again."
}

/** Whole seconds, rounded up, for a wait. */
fun seconds(ms: Long): Long = (ms + 999) / 1000

/** A fraction as a whole percentage. */
fun percent(fraction: Double): String = "${Math.round(fraction * 100)}%"

/** Bytes for people: "512 MB", "1.4 GB". */
fun bytes(n: Long): String = when {
    n >= 1_000_000_000L -> "%.1f GB".format(n / 1e9)
    n >= 1_000_000L -> "%.0f MB".format(n / 1e6)
    n >= 1_000L -> "%.0f kB".format(n / 1e3)
    else -> "$n B"
}

/** A length for people: "1:05:30", "4:10". */
fun duration(ms: Long): String {
    val s = ms / 1000
    return if (s >= 3600) "%d:%02d:%02d".format(s / 3600, s / 60 % 60, s % 60) else "%d:%02d".format(s / 60, s % 60)
}
