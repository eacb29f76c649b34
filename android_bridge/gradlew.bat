@rem nhkit launcher for the Gradle wrapper (see gradlew): runs the wrapper JAR with the
@rem distribution pinned in gradle\wrapper\gradle-wrapper.properties.
@echo off
setlocal
set APP_HOME=%~dp0
set JAR=%APP_HOME%gradle\wrapper\gradle-wrapper.jar
if not exist "%JAR%" (
  echo gradlew: %JAR% is missing ^(a binary this repository does not ship^). 1>&2
  echo Create it once with Gradle 8.9+: gradle wrapper --gradle-version 8.9 --distribution-type bin 1>&2
  exit /b 1
)
set JAVACMD=java
if defined JAVA_HOME set JAVACMD=%JAVA_HOME%\bin\java
"%JAVACMD%" %JAVA_OPTS% %GRADLE_OPTS% "-Dorg.gradle.appname=gradlew" -classpath "%JAR%" org.gradle.wrapper.GradleWrapperMain %*
exit /b %ERRORLEVEL%
