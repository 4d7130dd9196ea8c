import DashkeepFFI
import DashkeepViewModels
import Foundation
import UIKit

/// Uploads clips on a background URLSession, so an upload goes on after the app is suspended
/// or closed. The core plans (`planPlatformUpload`: the clip's parts, each with a presigned
/// request), iOS moves the bytes, and the core records each part's ETag (`platformPartDone`)
/// and completes and verifies the upload (`completePlatformUpload`). The companion is opened
/// with `uploadsByPlatform` so the core starts no upload worker of its own.
///
/// A background session uploads from files only, so each part's byte range is first copied to
/// a file in Caches (1 MiB at a time) and removed when its task ends. The user's upload policy
/// travels with each request: on WiFi only, iOS keeps the part until a non-expensive network.
@MainActor
public final class BackgroundUploads: NSObject {
    public static let shared = BackgroundUploads()
    static let identifier = "org.dashkeep.upload"

    private var companion: Companion?
    /// Parts iOS finished before the core was open again (after a relaunch): (clip, part, ETag).
    private var finished: [(Int64, UInt32, String)] = []
    private var systemDone: (() -> Void)?
    private lazy var session: URLSession = {
        let config = URLSessionConfiguration.background(withIdentifier: Self.identifier)
        config.sessionSendsLaunchEvents = true
        config.isDiscretionary = false
        return URLSession(configuration: config, delegate: self, delegateQueue: .main)
    }()
    private let parts = FileManager.default.temporaryDirectory.appending(path: "upload-parts")

    /// Starts with the open core: reports what iOS finished meanwhile, then sends what waits.
    public func attach(_ companion: Companion) {
        self.companion = companion
        _ = session
        Task {
            for (clip, part, etag) in finished { try? await companion.platformPartDone(clipId: clip, partNumber: part, etag: etag) }
            finished.removeAll()
            await sendWaiting()
            // A new clip goes out as soon as it is cut.
            for await event in companion.events() {
                if case .clipCreated = event { await sendWaiting() }
            }
        }
    }

    /// iOS relaunched the app for this session's events; `done` is called once they are handled.
    public func handleEvents(identifier: String, done: @escaping () -> Void) {
        guard identifier == Self.identifier else { return done() }
        systemDone = done
        _ = session
    }

    /// Hands iOS every part of every clip waiting for the cloud that is not already in flight.
    public func sendWaiting() async {
        guard let companion, companion.hasCloud() else { return }
        let inFlight = Set(await session.allTasks.compactMap { Self.clipOf($0) })
        guard let clips = try? await companion.clips(), let status = try? await companion.cloudStatus() else { return }
        for clip in clips where clip.state == .ready && (clip.uploadState == .queued || clip.uploadState == .uploading) && !inFlight.contains(clip.id) {
            do { try await send(clip.id, cellular: status.policy == .wifiAndCellular) } catch { continue }
        }
    }

    private func send(_ clipId: Int64, cellular: Bool) async throws {
        guard let companion else { return }
        let plan = try await companion.planPlatformUpload(clipId: clipId)
        let waiting = plan.parts.filter { $0.request != nil }
        if plan.alreadyUploaded || waiting.isEmpty {
            _ = try await companion.completePlatformUpload(clipId: clipId)
            return
        }
        for part in waiting {
            guard let request = part.request, let url = URL(string: request.url) else { continue }
            let file = try await copyRange(of: plan.file, offset: part.offset, length: part.length, to: "\(clipId)-\(part.partNumber).part")
            var r = URLRequest(url: url)
            r.httpMethod = request.method
            for h in request.headers { r.setValue(h.value, forHTTPHeaderField: h.name) }
            r.allowsExpensiveNetworkAccess = cellular
            r.allowsConstrainedNetworkAccess = cellular
            let task = session.uploadTask(with: r, fromFile: file)
            task.taskDescription = "\(clipId)/\(part.partNumber)"
            task.resume()
        }
    }

    /// Copies `length` bytes at `offset` of `path` into a file of its own, off the main thread.
    private func copyRange(of path: String, offset: UInt64, length: UInt64, to name: String) async throws -> URL {
        let dir = parts
        return try await Task.detached {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let out = dir.appending(path: name)
            FileManager.default.createFile(atPath: out.path(percentEncoded: false), contents: nil)
            let input = try FileHandle(forReadingFrom: URL(filePath: path))
            let output = try FileHandle(forWritingTo: out)
            defer { try? input.close(); try? output.close() }
            try input.seek(toOffset: offset)
            var left = length
            while left > 0, let chunk = try input.read(upToCount: Int(min(left, 1 << 20))), !chunk.isEmpty {
                try output.write(contentsOf: chunk)
                left -= UInt64(chunk.count)
            }
            return out
        }.value
    }

    nonisolated static func clipOf(_ task: URLSessionTask) -> Int64? {
        task.taskDescription?.split(separator: "/").first.flatMap { Int64($0) }
    }

    /// A part's task ended: its ETag goes to the core; once no part waits, the core completes.
    private func partEnded(_ task: URLSessionTask, error: Error?) {
        let fields = task.taskDescription?.split(separator: "/") ?? []
        guard fields.count == 2, let clip = Int64(fields[0]), let part = UInt32(fields[1]) else { return }
        try? FileManager.default.removeItem(at: parts.appending(path: "\(clip)-\(part).part"))
        let response = task.response as? HTTPURLResponse
        // A refused or failed part is planned again, with a fresh URL, at the next sendWaiting().
        guard error == nil, let response, (200..<300).contains(response.statusCode),
              let etag = response.value(forHTTPHeaderField: "ETag") else { return }
        guard let companion else { finished.append((clip, part, etag)); return }
        Task {
            try? await companion.platformPartDone(clipId: clip, partNumber: part, etag: etag)
            guard let plan = try? await companion.planPlatformUpload(clipId: clip),
                  plan.parts.allSatisfy({ $0.request == nil }) else { return }
            _ = try? await companion.completePlatformUpload(clipId: clip)
        }
    }
}

extension BackgroundUploads: URLSessionTaskDelegate {
    nonisolated public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        MainActor.assumeIsolated { partEnded(task, error: error) }
    }

    nonisolated public func urlSessionDidFinishEvents(forBackgroundURLSession session: URLSession) {
        MainActor.assumeIsolated {
            systemDone?()
            systemDone = nil
        }
    }
}

/// Hands the upload session's relaunch events to [BackgroundUploads].
public final class DashkeepAppDelegate: NSObject, UIApplicationDelegate {
    public func application(_ application: UIApplication, handleEventsForBackgroundURLSession identifier: String, completionHandler: @escaping () -> Void) {
        MainActor.assumeIsolated { BackgroundUploads.shared.handleEvents(identifier: identifier, done: completionHandler) }
    }
}
