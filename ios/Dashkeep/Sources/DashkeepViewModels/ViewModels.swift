import DashkeepFFI
import Foundation
import Observation

/// The message a screen shows for a failed core call: the failure in words and what to do next.
public func userMessage(_ error: Error) -> String {
    guard let e = error as? CompanionError else { return "Something went wrong. Try again." }
    switch e {
    case .Pairing(_, .wrongCode): return "Pairing: wrong code. Check the code on the camera's screen."
    case .Pairing(_, .backingOff(let ms)): return "Pairing: too many attempts; try again in \((ms + 999) / 1000) s."
    case .Pairing(_, .bleLink): return "Pairing: cannot reach the camera over Bluetooth. Turn Bluetooth on and come closer."
    case .Camera(_, .unreachable): return "Camera: it does not answer. Check that it is on and the phone is on its WiFi."
    case .Camera(_, .wrongKey): return "Camera: this is not your camera (its key changed). Pair it again."
    case .Storage(_, .quotaOutOfRange(_, let min, let max)): return "Storage: choose between \(Int(min * 100))% and \(Int(max * 100))%."
    case .Cloud(_, .notConfigured): return "Cloud: no cloud account is set up."
    case .Cloud(_, .unknownClip): return "Cloud: this clip is not uploaded yet."
    case .NotPaired: return "Pair the camera first (Settings → Pair a camera)."
    case .NotRecording: return "The camera is not recording a drive right now."
    case .NotConfirmed: return "Confirm first: this setting removes videos from the camera."
    default: return "\(e)"
    }
}

public extension ClipReason {
    /// The clip's title from what triggered it (the same words as the Android app).
    var title: String {
        switch self {
        case .hardBrake: return "Hard brake"
        case .collision: return "Collision"
        case .cameraLocked: return "Locked by the camera"
        case .manual: return "Manual clip"
        }
    }
}

/// Home: Connect or Stream, the connection with its retry, downloads, storage, at-risk, last incident.
@MainActor @Observable
public final class HomeViewModel {
    public private(set) var connection: DashkeepFFI.ConnectionState = .idle
    public private(set) var retryAt: Date?
    public private(set) var busy = false
    /// Bytes done and total of each segment in flight, by segment id.
    public private(set) var downloads: [Int64: (done: UInt64, total: UInt64)] = [:]
    public private(set) var stored = 0
    public private(set) var storage: StorageStatus?
    public private(set) var atRisk: [AtRiskDrive] = []
    public private(set) var lastIncident: Incident?
    public private(set) var pairedSerial: String?
    public var error: String?
    private let companion: Companion
    private let wifi: WifiJoiner?

    public init(companion: Companion, wifi: WifiJoiner? = nil) {
        self.companion = companion
        self.wifi = wifi
    }

    /// Re-reads what the screen shows.
    public func refresh() async {
        do {
            storage = try await companion.storageStatus()
            pairedSerial = try await companion.pairedCameras().first?.serial
            atRisk = try await companion.atRiskNow().atRisk
            lastIncident = try await companion.incidents(limit: 1).first
        } catch { self.error = userMessage(error) }
    }

    /// Connects to the paired camera and keeps it connected, streaming automatically.
    public func connect(serial: String) async {
        do {
            let transport = try await BleTransport.system()
            try await companion.connect(serial: serial, transport: transport, wifi: wifi, autoStream: true, network: nil)
        } catch { self.error = userMessage(error) }
    }

    /// Stops the camera connection.
    public func disconnect() async { await companion.disconnect() }

    /// "Stream now" at the core's camera address.
    public func streamNow() async {
        busy = true
        defer { busy = false }
        do { _ = try await companion.streamNow(cameraUrl: try await companion.cameraUrl()) } catch { self.error = userMessage(error) }
        await refresh()
    }

    /// Runs for the life of the screen (`.task { await vm.listen() }`).
    public func listen() async {
        await refresh()
        for await event in companion.events() {
            switch event {
            case .connectionChanged(let state):
                connection = state
                if case .disconnected(_, let ms?) = state { retryAt = Date().addingTimeInterval(Double(ms) / 1000) } else { retryAt = nil }
            case .segmentStarted(_, let id, let total, let from): downloads[id] = (from, total)
            case .segmentProgress(let id, let done, let total): downloads[id] = (done, total)
            case .segmentStored(_, let id, _): downloads[id] = nil; stored += 1; await refresh()
            case .atRiskChanged(let drives): atRisk = drives
            case .incidentDetected(let incident): lastIncident = incident
            case .storageFull, .roomAvailable, .evicted, .phoneCopyRemoved, .eventsMissed, .clipCreated: await refresh()
            case .streamingStopped(let error): downloads = [:]; self.error = error
            case .segmentFailed(let id, let reason): self.error = "Segment \(id) failed: \(reason). It will be fetched again."
            case .connected, .disconnected, .cloud: break
            }
        }
    }
}

/// Videos: Drives and Clips, a page at a time.
@MainActor @Observable
public final class VideosViewModel {
    public enum Tab { case drives, clips }
    public var tab = Tab.drives
    public private(set) var drives: [Drive] = []
    public private(set) var totalDrives: UInt32 = 0
    public private(set) var clips: [Clip] = []
    public private(set) var totalClips: UInt32 = 0
    public private(set) var atRisk: Set<Int64> = []
    public private(set) var loaded = false
    public var error: String?
    private let companion: Companion
    private let page: UInt32 = 50

    public init(companion: Companion) { self.companion = companion }

    /// The first pages.
    public func refresh() async {
        do {
            let d = try await companion.drives(offset: 0, limit: page)
            drives = d.drives; totalDrives = d.total
            let c = try await companion.clipPage(offset: 0, limit: page)
            clips = c.clips.filter { $0.state != .deleted }; totalClips = c.total
            atRisk = Set(try await companion.atRiskNow().atRisk.map(\.driveId))
        } catch { self.error = userMessage(error) }
        loaded = true
    }

    /// The next page of drives, when the list's end comes into view.
    public func loadMore() async {
        guard drives.count < totalDrives else { return }
        do { drives += try await companion.drives(offset: UInt32(drives.count), limit: page).drives } catch { self.error = userMessage(error) }
    }

    /// Follows uploads and new videos.
    public func listen() async {
        for await event in companion.events() {
            switch event {
            case .cloud(.uploadProgress(let id, let done, _)):
                if let i = clips.firstIndex(where: { $0.id == id }) { clips[i].uploadBytesDone = done; clips[i].uploadState = .uploading }
            case .segmentStored, .clipCreated, .cloud, .evicted, .phoneCopyRemoved, .eventsMissed: await refresh()
            default: break
            }
        }
    }
}

/// A drive's page: its segments on a timeline, its incidents, a clip from a range, lock, remove.
@MainActor @Observable
public final class DriveViewModel {
    public private(set) var drive: Drive
    public private(set) var segments: [Segment] = []
    public private(set) var incidents: [Incident] = []
    public var range: ClosedRange<Double> = 0...30
    public private(set) var madeClip: Clip?
    /// The core's summary: speed and g-force curves, the GPS track, distance, speeds, missing GPS.
    public private(set) var summary: DriveReport?
    public var error: String?
    private let companion: Companion

    public init(companion: Companion, drive: Drive) {
        self.companion = companion
        self.drive = drive
    }

    /// Seconds the drive lasts.
    public var length: Double { Double(drive.endedAtMs - drive.startedAtMs) / 1000 }

    public func load() async {
        do {
            segments = try await companion.driveSegments(driveId: drive.id)
            incidents = try await companion.incidents(limit: 1000).filter { $0.driveId == drive.id }
            summary = try await companion.driveSummary(driveId: drive.id)
        } catch { self.error = userMessage(error) }
    }

    public func makeClip() async {
        do { madeClip = try await companion.createClip(driveId: drive.id, fromS: range.lowerBound, toS: range.upperBound) } catch { self.error = userMessage(error) }
    }

    public func setLocked(_ locked: Bool) async {
        do {
            if locked { try await companion.lockDrive(driveId: drive.id) } else { try await companion.unlockDrive(driveId: drive.id) }
            drive.locked = locked
        } catch { self.error = userMessage(error) }
    }

    public func removeFromPhone() async {
        do { _ = try await companion.removeFromPhone(driveId: drive.id); await load() } catch { self.error = userMessage(error) }
    }
}

/// A clip: play, what triggered it, Share (what the core chose), Delete for good.
@MainActor @Observable
public final class ClipViewModel {
    public private(set) var clip: Clip?
    public private(set) var incident: Incident?
    public private(set) var share: ShareTarget?
    public private(set) var deleted = false
    public var error: String?
    private let companion: Companion
    private let id: Int64

    public init(companion: Companion, id: Int64) {
        self.companion = companion
        self.id = id
    }

    /// The confirmation's text.
    public let deleteWarning = "This removes the clip from this phone and from the cloud for good. Shared links stop working. This cannot be undone."

    public func load() async {
        do {
            let c = try await companion.clip(clipId: id)
            clip = c
            if let iid = c.incidentId { incident = try await companion.incidents(limit: 1000).first { $0.id == iid } }
        } catch { self.error = userMessage(error) }
    }

    public func prepareShare() async {
        do { share = try await companion.shareTarget(clipId: id) } catch { self.error = userMessage(error) }
    }

    public func delete() async {
        do { _ = try await companion.deleteClip(clipId: id); deleted = true } catch { self.error = userMessage(error) }
    }
}

/// Settings (quota, uploads, cloud, cameras) and Pairing.
@MainActor @Observable
public final class SettingsViewModel {
    public var quota: Double
    public let bounds: QuotaBounds
    /// The detector's sensitivity and the core's levels (the slider's steps).
    public private(set) var sensitivity: Sensitivity
    public let sensitivityLevels: [SensitivityLevel]
    public private(set) var volumeBytes: UInt64 = 0
    public private(set) var cloud: CloudStatus?
    public private(set) var found: [BleDevice] = []
    public private(set) var scanned = false
    public private(set) var paired: [PairedCamera] = []
    public private(set) var justPaired: PairedCamera?
    public private(set) var pairing = false
    public private(set) var blockedUntil: Date?
    /// Whether copied files are deleted from the camera's card (the core's setting, off by default).
    public private(set) var deleteFromCamera = false
    public var error: String?
    private let companion: Companion

    /// The warning the app shows before turning deletion from the camera on.
    public let deleteFromCameraWarning = "Once a video is safely on this phone, Dashkeep deletes it from the camera's card. The phone then holds the only copy, and its loop recording can overwrite it. Videos the camera locked stay on the camera."

    public init(companion: Companion) {
        self.companion = companion
        self.quota = companion.quota()
        self.bounds = companion.quotaBounds()
        self.sensitivity = companion.detectorSensitivity()
        self.sensitivityLevels = companion.sensitivityLevels()
    }

    public func setSensitivity(_ level: Sensitivity) async {
        do { try await companion.setDetectorSensitivity(sensitivity: level) } catch { self.error = userMessage(error) }
        sensitivity = companion.detectorSensitivity()
    }

    /// Turns deletion from the camera on (after the user confirmed the warning) or off.
    public func setDeleteFromCamera(_ on: Bool, confirmed: Bool) async {
        do { try await companion.setDeleteFromCamera(on: on, confirmed: confirmed) } catch { self.error = userMessage(error) }
        deleteFromCamera = (try? await companion.deletesFromCamera()) ?? deleteFromCamera
    }

    public func refresh() async {
        do {
            deleteFromCamera = try await companion.deletesFromCamera()
            paired = try await companion.pairedCameras()
            volumeBytes = try await companion.storageStatus().budget.volumeTotalBytes
            if companion.hasCloud() { cloud = try await companion.cloudStatus() }
        } catch { self.error = userMessage(error) }
    }

    public func scan() async {
        do { found = try await companion.scanCameras(transport: try await BleTransport.system(), timeoutMs: 5000) } catch { self.error = userMessage(error) }
        scanned = true
    }

    public func pair(_ device: BleDevice, code: String) async {
        pairing = true
        defer { pairing = false }
        do {
            justPaired = try await companion.pair(transport: try await BleTransport.system(), address: device.address, code: code)
            error = nil
        } catch CompanionError.Pairing(_, .backingOff(let ms)) {
            blockedUntil = Date().addingTimeInterval(Double(ms) / 1000)
            error = "Pairing: too many attempts; wait, then try again."
        } catch { self.error = userMessage(error) }
        await refresh()
    }

    public func unpair(_ camera: PairedCamera) async {
        do { try await companion.unpair(transport: try await BleTransport.system(), serial: camera.serial, localOnly: false) } catch { self.error = userMessage(error) }
        await refresh()
    }

    /// The slider was released; the core validates, persists and evicts.
    public func commitQuota() async {
        do { _ = try await companion.setQuota(fraction: (quota * 100).rounded() / 100) } catch { self.error = userMessage(error) }
        quota = companion.quota()
    }

    public func setPolicy(_ policy: UploadPolicy) async {
        do { try await companion.setUploadPolicy(policy: policy); cloud = try await companion.cloudStatus() } catch { self.error = userMessage(error) }
    }
}
