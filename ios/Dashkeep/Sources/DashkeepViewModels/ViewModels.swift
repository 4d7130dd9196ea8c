import DashkeepFFI
import Observation

/// The camera link as the Home screen shows it.
public enum ConnectionState: Equatable {
    case idle
    case connected(serial: String)
    case reconnecting(reason: String)
    /// The paired camera's connection, as the core's supervisor reports it.
    case link(DashkeepFFI.ConnectionState)

    /// The status line.
    public var label: String {
        switch self {
        case .idle: "Camera: not connected"
        case .connected(let serial): "Camera \(serial): connected"
        case .reconnecting(let reason): "Camera: reconnecting (\(reason))"
        case .link(let state):
            switch state {
            case .idle: "Camera: not connected"
            case .scanning: "Looking for the camera…"
            case .pairing: "Pairing…"
            case .paired(let serial): "Paired with \(serial)"
            case .bleConnected(let serial): "Camera \(serial): connected over Bluetooth"
            case .wifiJoined(let serial, _): "Camera \(serial): on its WiFi"
            case .streaming(let serial): "Camera \(serial): streaming"
            case .disconnected(let reason, let retryInMs):
                "Camera: \(Self.why(reason))\(retryInMs == nil ? "" : "; retrying")"
            }
        }
    }

    private static func why(_ reason: DisconnectReason) -> String {
        switch reason {
        case .stopped: "stopped"
        case .notInRange: "out of range or switched off"
        case .bleLost: "Bluetooth lost"
        case .wifiJoinFailed: "could not join its WiFi"
        case .cameraUnreachable: "not answering"
        case .revoked: "the camera no longer knows this phone: pair again"
        case .wrongCameraKey: "not your camera (wrong key): pair again"
        case .wrongCamera: "another camera answered: pair again"
        }
    }
}

/// Home: camera connection state, the Stream button, the storage bar.
@MainActor @Observable
public final class HomeViewModel {
    public private(set) var connection = ConnectionState.idle
    public private(set) var busy = false
    public private(set) var progress: Double?
    public private(set) var storage: StorageStatus?
    /// Drives living in one place only that will be overwritten soon (a warning banner).
    public private(set) var atRiskDrives = 0
    public private(set) var error: String?
    private let companion: Companion
    private let cameraURL: String
    private let wifi: WifiJoiner?

    public init(companion: Companion, cameraURL: String, wifi: WifiJoiner? = nil) {
        self.companion = companion
        self.cameraURL = cameraURL
        self.wifi = wifi
    }

    /// Connects to the paired camera and keeps it connected, streaming automatically.
    public func connect(serial: String) async {
        do {
            let transport = try await BleTransport.system()
            try await companion.connect(serial: serial, transport: transport, wifi: wifi, autoStream: true)
            error = nil
        } catch { self.error = "\(error)" }
    }

    /// Stops the camera connection.
    public func disconnect() async { await companion.disconnect() }

    /// Runs for the life of the screen (`.task { await vm.listen() }`).
    public func listen() async {
        await refreshStorage()
        for await event in companion.events() {
            switch event {
            case .connectionChanged(let state): connection = .link(state)
            case .connected(_, let serial): if case .link = connection {} else { connection = .connected(serial: serial) }
            case .disconnected(let reason, _): if case .link = connection {} else { connection = .reconnecting(reason: reason) }
            case .atRiskChanged(let drives): atRiskDrives = drives.count
            case .segmentProgress(_, let done, let total): progress = total == 0 ? nil : Double(done) / Double(total)
            case .segmentStored: progress = nil
            case .storageFull, .roomAvailable, .evicted, .phoneCopyRemoved, .eventsMissed: await refreshStorage()
            case .streamingStopped(let error): self.error = error
            case .segmentStarted, .segmentFailed, .incidentDetected, .clipCreated, .cloud: break
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

/// Settings: the quota slider (default 50%) and pairing.
@MainActor @Observable
public final class SettingsViewModel {
    public var quota: Double
    public private(set) var found: [BleDevice] = []
    public private(set) var paired: [PairedCamera] = []
    public private(set) var pairing = false
    public private(set) var error: String?
    private let companion: Companion

    public init(companion: Companion) {
        self.companion = companion
        self.quota = companion.quota()
    }

    /// Re-reads the paired cameras.
    public func refreshPaired() async {
        do { paired = try await companion.pairedCameras() } catch { self.error = "\(error)" }
    }

    /// "Pair a camera": the cameras advertising nearby.
    public func scan() async {
        do {
            found = try await companion.scanCameras(transport: try await BleTransport.system(), timeoutMs: 5000)
            error = nil
        } catch { self.error = "\(error)" }
    }

    /// Pairs with `device` using the code on its screen.
    public func pair(_ device: BleDevice, code: String) async {
        pairing = true
        defer { pairing = false }
        do {
            _ = try await companion.pair(transport: try await BleTransport.system(), address: device.address, code: code)
            error = nil
        } catch CompanionError.Pairing(_, .wrongCode) {
            error = "Wrong code"
        } catch { self.error = "\(error)" }
        await refreshPaired()
    }

    /// Unpairs `camera` (the camera revokes this phone).
    public func unpair(_ camera: PairedCamera) async {
        do {
            try await companion.unpair(transport: try await BleTransport.system(), serial: camera.serial, localOnly: false)
        } catch { self.error = "\(error)" }
        await refreshPaired()
    }

    /// The slider was released; the core validates (0.1...0.9), persists and evicts.
    public func commitQuota() async {
        do { _ = try await companion.setQuota(fraction: quota); error = nil } catch { self.error = "\(error)" }
        quota = companion.quota()
    }
}
