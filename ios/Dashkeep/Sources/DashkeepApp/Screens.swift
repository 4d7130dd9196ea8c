import DashkeepFFI
import DashkeepViewModels
import SwiftUI

struct HomeView: View {
    @State var vm: HomeViewModel
    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            Text(vm.connection.label).font(.headline)
            Button(vm.busy ? "Streaming…" : "Stream now") { Task { await vm.streamNow() } }
                .buttonStyle(.borderedProminent).disabled(vm.busy)
            if let p = vm.progress { ProgressView(value: p) }
            if let s = vm.storage {
                Text("Phone storage: \(s.budget.ownedBytes.formatted(.byteCount(style: .file))) of \(s.budget.limitBytes.formatted(.byteCount(style: .file))) (quota \(Int(s.budget.fraction * 100))%)")
                ProgressView(value: Double(s.budget.ownedBytes), total: Double(max(s.budget.limitBytes, 1)))
                if s.full { Text("Storage full: streaming is paused").foregroundStyle(.red) }
            }
            if vm.atRiskDrives > 0 {
                Text("\(vm.atRiskDrives) drive(s) live in one place only and will be overwritten soon").foregroundStyle(.red)
            }
            if let e = vm.error { Text(e).foregroundStyle(.red) }
        }
        .padding()
        .task { await vm.listen() }
    }
}

struct VideosView: View {
    @State var vm: VideosViewModel
    var body: some View {
        VStack {
            Picker("", selection: $vm.tab) {
                Text("Drives").tag(VideosViewModel.Tab.drives)
                Text("Clips").tag(VideosViewModel.Tab.clips)
            }.pickerStyle(.segmented)
            if !vm.atRisk.isEmpty {
                Text("\(vm.atRisk.count) drive(s) live in one place only and will be overwritten soon").foregroundStyle(.red)
            }
            switch vm.tab {
            case .drives:
                List(vm.drives, id: \.id) { drive in
                    VStack(alignment: .leading) {
                        Text(Date(timeIntervalSince1970: Double(drive.startedAtMs) / 1000), style: .date)
                        HStack { ForEach(drive.residencies, id: \.self) { Text(badge($0)).font(.caption).padding(4).background(.thinMaterial) } }
                    }
                    .swipeActions {
                        Button(drive.locked ? "Unlock" : "Lock") { Task { await vm.setLocked(drive, !drive.locked) } }
                        Button("Remove from phone", role: .destructive) { Task { await vm.removeFromPhone(drive) } }
                    }
                }
            case .clips:
                // The Clip screen (play, Share, Delete with "deletes from the cloud too") comes
                // with the clips issue, when the core has clips.
                Text("No clips yet")
            }
        }
        .task { await vm.refresh() }
    }

    private func badge(_ r: Residency) -> String {
        switch r { case .camera: "camera"; case .phone: "phone"; case .cloud: "cloud" }
    }
}

struct SettingsView: View {
    @State var vm: SettingsViewModel
    @State private var code = ""
    var body: some View {
        Form {
            Section("Phone storage for videos: \(Int(vm.quota * 100))%") {
                Slider(value: $vm.quota, in: 0.1...0.9) { editing in if !editing { Task { await vm.commitQuota() } } }
            }
            Toggle("Upload clips over cellular", isOn: .constant(false)).disabled(true)
            Section("Cameras") {
                ForEach(vm.paired, id: \.serial) { camera in
                    HStack {
                        Text("\(camera.model) \(camera.serial)")
                        Spacer()
                        Button("Unpair", role: .destructive) { Task { await vm.unpair(camera) } }
                    }
                }
                Button("Pair a camera") { Task { await vm.scan() } }.disabled(vm.pairing)
                if !vm.found.isEmpty { TextField("Code on the camera's screen", text: $code).keyboardType(.numberPad) }
                ForEach(vm.found, id: \.address) { device in
                    Button("Pair with \(device.name)") { Task { await vm.pair(device, code: code) } }
                        .disabled(code.count < 8 || vm.pairing)
                }
            }
            if let e = vm.error { Text(e).foregroundStyle(.red) }
        }
        .task { await vm.refreshPaired() }
    }
}
