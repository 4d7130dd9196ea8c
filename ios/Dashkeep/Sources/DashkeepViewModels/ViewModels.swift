import DashkeepFFI
import Observation

/// The camera link as the Home screen shows it.
public enum ConnectionState: Equatable {
    case idle
    case connected(serial: String)
    case reconnecting(reason: String)
}

/// Home: camera connection state, the Stream button, the storage bar.
@MainActor @Observable
public final class HomeViewModel {
    public private(set) var connection = ConnectionState.idle
    public private(set) var busy = false
    public private(set) var progress: Double?
    public private(set) var storage: StorageStatus?
    public private(set) var error: String?
    private let companion: Companion
    private let cameraURL: String

    public init(companion: Companion, cameraURL: String) {
        self.companion = companion
        self.cameraURL = cameraURL
    }

    /// Runs for the life of the screen (`.task { await vm.listen() }`).
    public func listen() async {
        await refreshStorage()
        for await event in companion.events() {
            switch event {
            case .connected(_, let serial): connection = .connected(serial: serial)
            case .disconnected(let reason, _): connection = .reconnecting(reason: reason)
            case .segmentProgress(_, let done, let total): progress = total == 0 ? nil : Double(done) / Double(total)
            case .segmentStored: progress = nil
            case .storageFull, .roomAvailable, .evicted, .phoneCopyRemoved, .eventsMissed: await refreshStorage()
            case .streamingStopped(let error): self.error = error
            case .segmentStarted, .segmentFailed: break
            }
        }
    }

    /// "Stream now".
    public func streamNow() async {
        busy = true
        defer { busy = false }
        do { _ = try await companion.streamNow(cameraUrl: cameraURL); error = nil } catch { self.error = "\(error)" }
        await refreshStorage()
    }

    public func refreshStorage() async {
        do { storage = try await companion.storageStatus() } catch { self.error = "\(error)" }
    }
}

/// Videos: Drives (with residency badges and the at-risk warning) and Clips.
@MainActor @Observable
public final class VideosViewModel {
    public enum Tab { case drives, clips }
    public var tab = Tab.drives
    public private(set) var drives: [Drive] = []
    public private(set) var atRisk: Set<Int64> = []
    public private(set) var error: String?
    private let companion: Companion

    public init(companion: Companion) { self.companion = companion }

    public func refresh() async {
        do {
            drives = try await companion.drives(offset: 0, limit: 200).drives
            atRisk = Set(try await companion.atRisk(horizonHours: 2).atRisk.map(\.driveId))
        } catch { self.error = "\(error)" }
    }

    public func setLocked(_ drive: Drive, _ locked: Bool) async {
        do {
            if locked { try await companion.lockDrive(driveId: drive.id) } else { try await companion.unlockDrive(driveId: drive.id) }
            await refresh()
        } catch { self.error = "\(error)" }
    }

    public func removeFromPhone(_ drive: Drive) async {
        do { _ = try await companion.removeFromPhone(driveId: drive.id); await refresh() } catch { self.error = "\(error)" }
    }
}

/// Settings: the quota slider (default 50%).
@MainActor @Observable
public final class SettingsViewModel {
    public var quota: Double
    public private(set) var error: String?
    private let companion: Companion

    public init(companion: Companion) {
        self.companion = companion
        self.quota = companion.quota()
    }

    /// The slider was released; the core validates (0.1...0.9), persists and evicts.
    public func commitQuota() async {
        do { _ = try await companion.setQuota(fraction: quota); error = nil } catch { self.error = "\(error)" }
        quota = companion.quota()
    }
}
