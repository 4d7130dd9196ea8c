import AVKit
import DashkeepFFI
import DashkeepViewModels
import SwiftUI

private func size(_ b: UInt64) -> String { b.formatted(.byteCount(style: .file)) }
/// " · front + rear" for a drive more than one lens recorded; nothing for one lens.
private func lenses(_ channels: [Channel]) -> String {
    channels.count < 2 ? "" : " · " + channels.map { "\($0)" }.joined(separator: " + ")
}
private func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
private func color(_ r: Residency) -> Color { switch r { case .camera: .orange; case .phone: .teal; case .cloud: .indigo } }

struct Badges: View {
    let residencies: [Residency]
    var body: some View {
        HStack { ForEach(residencies, id: \.self) { r in Text("\(r)".capitalized).font(.caption).padding(.horizontal, 6).background(color(r).opacity(0.2), in: Capsule()) } }
    }
}

struct HomeView: View {
    @State var vm: HomeViewModel
    var body: some View {
        Form {
            if let e = vm.error { Text(e).foregroundStyle(.red) }
            if !vm.atRisk.isEmpty { Text("\(vm.atRisk.count) drive(s) live in one place only and will be overwritten soon.").foregroundStyle(.red) }
            Section("Camera") {
                Text(String(describing: vm.connection)).font(.headline)
                if let at = vm.retryAt { Text(timerInterval: Date()...at).font(.caption) }
                if let serial = vm.pairedSerial {
                    Button("Connect") { Task { await vm.connect(serial: serial) } }
                    Button("Disconnect") { Task { await vm.disconnect() } }
                } else {
                    Button(vm.busy ? "Streaming…" : "Stream now") { Task { await vm.streamNow() } }.disabled(vm.busy)
                }
                ForEach(vm.downloads.keys.sorted(), id: \.self) { id in
                    let d = vm.downloads[id]!
                    ProgressView("Segment \(id)", value: Double(d.done), total: Double(max(d.total, 1)))
                }
            }
            if let s = vm.storage {
                Section("Phone storage") {
                    Text("\(size(s.budget.ownedBytes)) of \(size(s.budget.limitBytes)) (quota \(Int(s.budget.fraction * 100))%)")
                    ProgressView(value: Double(s.budget.ownedBytes), total: Double(max(s.budget.limitBytes, 1)))
                    Text("Drives \(size(s.usage.segmentBytes)) · Clips \(size(s.usage.clipBytes)) · Free \(size(s.freeQuotaBytes))").font(.caption)
                    if s.full {
                        Text(s.phoneFull ? "Phone storage nearly full: streaming is paused. Free space on the phone."
                                         : "Storage full: streaming is paused. Raise the quota or remove drives.")
                            .foregroundStyle(.red)
                    }
                    ForEach(s.cameras, id: \.serial) { c in
                        if c.sdCapacityBytes > 0 {
                            ProgressView("\(c.model) SD: \(size(c.sdUsedBytes)) of \(size(c.sdCapacityBytes))", value: Double(c.sdUsedBytes), total: Double(c.sdCapacityBytes))
                        } else {
                            Text("\(c.model) SD: \(size(c.sdUsedBytes)) of videos; card size not reported").font(.caption)
                        }
                    }
                }
            }
            if let i = vm.lastIncident {
                Section("Last incident") { Text("\(i.kind)\(peak(i.peakG)) · \(date(i.atMs), style: .relative) ago") }
            }
        }
        .task { await vm.listen() }
    }
}

struct VideosView: View {
    @State var vm: VideosViewModel
    let companion: Companion
    var body: some View {
        VStack {
            Picker("", selection: $vm.tab) {
                Text("Drives (\(vm.totalDrives))").tag(VideosViewModel.Tab.drives)
                Text("Clips (\(vm.totalClips))").tag(VideosViewModel.Tab.clips)
            }.pickerStyle(.segmented)
            if let e = vm.error { Text(e).foregroundStyle(.red) }
            switch vm.tab {
            case .drives where vm.loaded && vm.drives.isEmpty:
                ContentUnavailableView("No drives yet", systemImage: "car", description: Text("Connect to your camera on Home: its drives stream here."))
            case .drives:
                List(vm.drives, id: \.id) { d in
                    NavigationLink(value: d.id) {
                        VStack(alignment: .leading) {
                            Text(date(d.startedAtMs), style: .date)
                            Text("\(d.segments) segments · \(size(d.bytesTotal))\(lenses(d.channels))\(d.locked ? " · locked" : "")").font(.caption)
                            HStack { Badges(residencies: d.residencies); if vm.atRisk.contains(d.id) { Text("At risk").foregroundStyle(.red) } }
                        }
                    }
                    .onAppear { if d.id == vm.drives.last?.id { Task { await vm.loadMore() } } }
                }
                .navigationDestination(for: Int64.self) { id in
                    if let d = vm.drives.first(where: { $0.id == id }) { DriveView(vm: DriveViewModel(companion: companion, drive: d), companion: companion) }
                }
            case .clips where vm.clips.isEmpty:
                ContentUnavailableView("No clips yet", systemImage: "film", description: Text("Hard brakes make clips by themselves; open a drive to clip any moment."))
            case .clips:
                List(vm.clips, id: \.id) { c in
                    NavigationLink { ClipView(vm: ClipViewModel(companion: companion, id: c.id)) } label: {
                        VStack(alignment: .leading) {
                            Text(c.reason.title).font(.headline)
                            Badges(residencies: c.residencies)
                            if c.uploadState == .uploading, let total = c.sizeBytes { ProgressView(value: Double(c.uploadBytesDone), total: Double(max(total, 1))) }
                        }
                    }
                }
            }
        }
        .task { await vm.refresh() }
        .task { await vm.listen() }
    }
}

/// " · 0.4 g" for a measured peak; nothing for an incident the camera reported by locking files.
private func peak(_ g: Double?) -> String { g.map { String(format: " · %.1f g", $0) } ?? "" }

/// Plays phone files back to back (a drive's segments, or one clip) with AVQueuePlayer, which
/// loads the next item ahead. The player lives as long as the view, not one render.
struct PlaylistPlayer: View {
    let files: [String]
    @State private var player: AVQueuePlayer?
    var body: some View {
        VideoPlayer(player: player)
            .task(id: files) { player = AVQueuePlayer(items: files.map { AVPlayerItem(url: URL(fileURLWithPath: $0)) }) }
            .onDisappear { player?.pause() }
    }
}

struct DriveView: View {
    @State var vm: DriveViewModel
    let companion: Companion
    var body: some View {
        Form {
            if let e = vm.error { Text(e).foregroundStyle(.red) }
            let files = vm.segments.compactMap(\.phonePath)
            if !files.isEmpty { PlaylistPlayer(files: files).frame(height: 200) }
            Section("Timeline") {
                GeometryReader { g in
                    let total = max(Double(vm.drive.endedAtMs - vm.drive.startedAtMs), 1)
                    ZStack(alignment: .leading) {
                        ForEach(vm.segments, id: \.id) { s in
                            Rectangle().fill(s.phonePath == nil ? Color.orange : Color.teal)
                                .frame(width: max(g.size.width * Double(s.durationMs) / total - 1, 1))
                                .offset(x: g.size.width * Double(s.startedAtMs - vm.drive.startedAtMs) / total)
                        }
                        ForEach(vm.incidents, id: \.id) { i in
                            Rectangle().fill(.red).frame(width: 3).offset(x: g.size.width * Double(i.atMs - vm.drive.startedAtMs) / total)
                        }
                    }
                }.frame(height: 32)
            }
            if let r = vm.summary {
                Section("Summary") {
                    if let d = r.distanceM { Text(String(format: "%.1f km", d / 1000)) }
                    if let v = r.averageSpeedMps { Text(String(format: "Average %.0f km/h", v * 3.6)) }
                    if let v = r.topSpeedMps { Text(String(format: "Top speed %.0f km/h", v * 3.6)) }
                    if r.gpsFixes == 0 { Text("No GPS in this drive: no track, distance or speeds.").font(.caption) }
                    ForEach(Array(r.gpsMissing.enumerated()), id: \.offset) { _, gap in
                        Text("No GPS for \((gap.toMs - gap.fromMs) / 1000) s: \(String(describing: gap.reason))").font(.caption)
                    }
                }
                Section("Speed and g-force") {
                    Curve(points: r.speed, total: Double(r.durationMs)).stroke(.blue, lineWidth: 2).frame(height: 60)
                    Curve(points: r.gForce, total: Double(r.durationMs)).stroke(.purple, lineWidth: 2).frame(height: 40)
                }
                if r.track.count > 1 { Section("Route") { Track(points: r.track).stroke(.blue, lineWidth: 3).frame(height: 200) } }
            }
            Section("Make a clip") {
                Slider(value: Binding(get: { vm.range.lowerBound }, set: { vm.range = $0...max($0 + 1, vm.range.upperBound) }), in: 0...max(vm.length, 1))
                Slider(value: Binding(get: { vm.range.upperBound }, set: { vm.range = min(vm.range.lowerBound, $0 - 1)...$0 }), in: 0...max(vm.length, 1))
                Button("Make a clip") { Task { await vm.makeClip() } }
            }
            Button(vm.drive.locked ? "Unlock" : "Lock") { Task { await vm.setLocked(!vm.drive.locked) } }
            Button("Remove from phone", role: .destructive) { Task { await vm.removeFromPhone() } }
        }
        .navigationDestination(item: Binding(get: { vm.madeClip?.id }, set: { _ in })) { id in ClipView(vm: ClipViewModel(companion: companion, id: id)) }
        .task { await vm.load() }
    }
}

struct ClipView: View {
    @State var vm: ClipViewModel
    @State private var confirming = false
    @Environment(\.dismiss) private var dismiss
    var body: some View {
        Form {
            if let e = vm.error { Text(e).foregroundStyle(.red) }
            if let c = vm.clip {
                if let p = c.phonePath { PlaylistPlayer(files: [p]).frame(height: 220) }
                Text(c.reason.title).font(.title2)
                Text(date(c.startMs), style: .date)
                if let i = vm.incident {
                    if let g = i.peakG { Text("Peak \(g, specifier: "%.2f") g") }
                    if let lat = i.lat, let lon = i.lon { Text("\(lat, specifier: "%.5f"), \(lon, specifier: "%.5f")") }
                }
                Badges(residencies: c.residencies)
                switch vm.share {
                case .link(let url)?: ShareLink("Share", item: URL(string: url)!)
                case .file(let path)?: ShareLink("Share", item: URL(fileURLWithPath: path))
                case nil: Button("Share") { Task { await vm.prepareShare() } }
                }
                Button("Delete", role: .destructive) { confirming = true }
            }
        }
        .confirmationDialog("Delete this clip?", isPresented: $confirming) {
            Button("Delete for good", role: .destructive) { Task { await vm.delete(); if vm.deleted { dismiss() } } }
        } message: { Text(vm.deleteWarning) }
        .task { await vm.load() }
    }
}

struct SettingsView: View {
    @State var vm: SettingsViewModel
    @State private var confirmingDeleteFromCamera = false
    var body: some View {
        Form {
            if let e = vm.error { Text(e).foregroundStyle(.red) }
            Section("Phone storage for videos: \(Int(vm.quota * 100))% (\(size(UInt64(Double(vm.volumeBytes) * vm.quota))))") {
                Slider(value: $vm.quota, in: vm.bounds.min...vm.bounds.max) { editing in if !editing { Task { await vm.commitQuota() } } }
            }
            Section("Incident detection") {
                Picker("Sensitivity", selection: Binding(get: { vm.sensitivity }, set: { l in Task { await vm.setSensitivity(l) } })) {
                    ForEach(vm.sensitivityLevels, id: \.sensitivity) { l in
                        Text(String(format: "%@ (× %.2f)", String(describing: l.sensitivity).capitalized, l.thresholdScale)).tag(l.sensitivity)
                    }
                }
            }
            if let c = vm.cloud {
                Section("Cloud: \(c.account)") {
                    Picker("Upload clips over", selection: Binding(get: { c.policy }, set: { p in Task { await vm.setPolicy(p) } })) {
                        Text("WiFi only").tag(UploadPolicy.wifiOnly)
                        Text("WiFi and cellular").tag(UploadPolicy.wifiAndCellular)
                    }
                    Text("\(c.uploaded) in the cloud · \(c.queued) waiting").font(.caption)
                }
            }
            Section("Camera's card") {
                Toggle("Delete from the camera after copying", isOn: Binding(
                    get: { vm.deleteFromCamera },
                    set: { on in if on { confirmingDeleteFromCamera = true } else { Task { await vm.setDeleteFromCamera(false, confirmed: false) } } }
                ))
            }
            Section("Paired cameras") {
                ForEach(vm.paired, id: \.serial) { camera in
                    HStack { Text("\(camera.model) \(camera.serial)"); Spacer(); Button("Unpair", role: .destructive) { Task { await vm.unpair(camera) } } }
                }
                NavigationLink("Pair a camera") { PairingView(vm: vm) }
            }
        }
        .confirmationDialog("Delete videos from the camera?", isPresented: $confirmingDeleteFromCamera) {
            Button("Delete after copying", role: .destructive) { Task { await vm.setDeleteFromCamera(true, confirmed: true) } }
        } message: { Text(vm.deleteFromCameraWarning) }
        .task { await vm.refresh() }
    }
}

struct PairingView: View {
    @State var vm: SettingsViewModel
    @State private var code = ""
    var body: some View {
        Form {
            if let p = vm.justPaired {
                Text("Paired with \(p.model) \(p.serial). Connect to it on Home.")
            } else {
                if let e = vm.error { Text(e).foregroundStyle(.red) }
                if let until = vm.blockedUntil, until > Date() { Text(timerInterval: Date()...until) }
                Button("Look for cameras") { Task { await vm.scan() } }
                if vm.scanned && vm.found.isEmpty { Text("No camera found. Is it on, close by, and showing a code?") }
                if !vm.found.isEmpty { TextField("Code on the camera's screen", text: $code).keyboardType(.numberPad) }
                ForEach(vm.found, id: \.address) { device in
                    Button("Pair with \(device.name)") { Task { await vm.pair(device, code: code) } }.disabled(code.count != 8 || vm.pairing)
                }
            }
        }
    }
}

/// A curve over the drive's time axis, scaled to its own maximum.
struct Curve: Shape {
    let points: [SeriesPoint]
    let total: Double
    func path(in rect: CGRect) -> Path {
        let top = max(points.map(\.value).max() ?? 0, 1e-9)
        var p = Path()
        for (i, pt) in points.enumerated() {
            let at = CGPoint(x: rect.width * Double(pt.tMs) / max(total, 1), y: rect.height * (1 - pt.value / top))
            if i == 0 { p.move(to: at) } else { p.addLine(to: at) }
        }
        return p
    }
}

/// The GPS track as a path, north up.
struct Track: Shape {
    let points: [TrackPoint]
    func path(in rect: CGRect) -> Path {
        let k = cos((points.map(\.lat).reduce(0, +) / Double(max(points.count, 1))) * .pi / 180)
        let xs = points.map { $0.lon * k }, ys = points.map(\.lat)
        let (x0, y0) = (xs.min() ?? 0, ys.min() ?? 0)
        let scale = min(rect.width / max((xs.max() ?? 0) - x0, 1e-9), rect.height / max((ys.max() ?? 0) - y0, 1e-9))
        var p = Path()
        for (i, (x, y)) in zip(xs, ys).enumerated() {
            let at = CGPoint(x: (x - x0) * scale, y: rect.height - (y - y0) * scale)
            if i == 0 { p.move(to: at) } else { p.addLine(to: at) }
        }
        return p
    }
}
