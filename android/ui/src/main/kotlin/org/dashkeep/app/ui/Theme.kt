package org.dashkeep.app.ui

import androidx.compose.material3.ColorScheme
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.Immutable
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.ui.graphics.Color
import org.dashkeep.ffi.Residency

private val Light = lightColorScheme(
    primary = Color(0xFF00639B), onPrimary = Color.White,
    primaryContainer = Color(0xFFCEE5FF), onPrimaryContainer = Color(0xFF001D33),
    secondary = Color(0xFF51606F), tertiary = Color(0xFF67587A),
    error = Color(0xFFBA1A1A), errorContainer = Color(0xFFFFDAD6), onErrorContainer = Color(0xFF410002),
    background = Color(0xFFF8F9FC), surface = Color(0xFFF8F9FC),
    surfaceVariant = Color(0xFFDEE3EB), surfaceContainer = Color(0xFFECEEF2),
)

private val Dark = darkColorScheme(
    primary = Color(0xFF96CCFF), onPrimary = Color(0xFF003353),
    primaryContainer = Color(0xFF004A76), onPrimaryContainer = Color(0xFFCEE5FF),
    secondary = Color(0xFFB9C8DA), tertiary = Color(0xFFD2BFE7),
    error = Color(0xFFFFB4AB), errorContainer = Color(0xFF93000A), onErrorContainer = Color(0xFFFFDAD6),
    background = Color(0xFF111418), surface = Color(0xFF111418),
    surfaceVariant = Color(0xFF42474E), surfaceContainer = Color(0xFF1D2024),
)

/** The colours of where a video lives, the same on every screen (badges, the timeline). */
@Immutable
data class ResidencyColors(val camera: Color, val phone: Color, val cloud: Color, val nowhere: Color) {
    /** The colour of one residency. */
    fun of(r: Residency): Color = when (r) {
        Residency.CAMERA -> camera
        Residency.PHONE -> phone
        Residency.CLOUD -> cloud
    }
}

private val LightResidency = ResidencyColors(Color(0xFFB26A00), Color(0xFF00796B), Color(0xFF3F51B5), Color(0xFFB0B4BA))
private val DarkResidency = ResidencyColors(Color(0xFFFFB74D), Color(0xFF4DB6AC), Color(0xFF9FA8DA), Color(0xFF50555C))

/** The residency colours of the current theme. */
val LocalResidencyColors = staticCompositionLocalOf { LightResidency }

/** Dashkeep's Material 3 theme, light or dark. */
@Composable
fun DashkeepTheme(dark: Boolean, content: @Composable () -> Unit) {
    val scheme: ColorScheme = if (dark) Dark else Light
    CompositionLocalProvider(LocalResidencyColors provides if (dark) DarkResidency else LightResidency) {
        MaterialTheme(colorScheme = scheme, content = content)
    }
}
