import DashkeepFFI
import DashkeepViewModels
import OSLog
import SwiftUI

/// Forwards the core's logs to os_log.
final class OSLogSink: LogSink, @unchecked Sendable {
    private let logger = Logger(subsystem: "org.dashkeep.app", category: "core")
    func log(record: LogRecord) {
        switch record.level {
        case .error: logger.error("\(record.target, privacy: .public): \(record.message, privacy: .public)")
        case .warn: logger.warning("\(record.target, privacy: .public): \(record.message, privacy: .public)")
        case .info: logger.info("\(record.target, privacy: .public): \(record.message, privacy: .public)")
        case .debug, .trace: logger.debug("\(record.target, privacy: .public): \(record.message, privacy: .public)")
        }
    }
}

/// The app's root: starts the core, then shows Home, Videos and Settings in tabs.
public struct RootView: View {
    @State private var companion: Companion?
    @State private var failure: String?

    public init() {}

    public var body: some View {
        Group {
            if let companion {
                TabView {
                    NavigationStack { HomeView(vm: HomeViewModel(companion: companion, wifi: HotspotWifiJoiner())) }
                        .tabItem { Label("Home", systemImage: "car") }
                    NavigationStack { VideosView(vm: VideosViewModel(companion: companion), companion: companion) }
                        .tabItem { Label("Videos", systemImage: "film") }
                    NavigationStack { SettingsView(vm: SettingsViewModel(companion: companion)) }
                        .tabItem { Label("Settings", systemImage: "gear") }
                }
            } else if let failure {
                Text(failure)
            } else {
                ProgressView()
            }
        }
        .task {
            _ = initPlatform(config: PlatformConfig(logFilter: "info", logToStderr: false, logSink: OSLogSink()))
            let dir = URL.applicationSupportDirectory.appending(path: "dashkeep").path(percentEncoded: false)
            // Pairings (WiFi passphrase, API secret, pinned key) go to the Keychain, not a file.
            let secrets = KeychainSecretStore()
            let settings = CompanionSettings(cloud: CloudAccountStore(secrets: secrets).settings(), secretStore: secrets)
            do {
                let opened = try await openCompanion(dataDir: dir, settings: settings)
                companion = opened
                BackgroundUploads.shared.attach(opened)
            } catch { failure = userMessage(error) }
        }
    }
}
